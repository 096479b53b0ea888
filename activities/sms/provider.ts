import type { Scenario } from '../../domain/scenarios';

export interface SmsMessage {
  to: string;
  body: string;
  org: string;
  scenario: Scenario;
  userId: string;
  /** The org's sender id (policy `smsSenderId`), where the provider supports one. */
  senderId?: string;
}

export interface SmsProvider {
  readonly name: string;
  send(message: SmsMessage): Promise<{ messageId: string }>;
}

/** The provider refused for good (invalid number, opted out): retrying cannot help. */
export class SmsPermanentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SmsPermanentError';
  }
}
