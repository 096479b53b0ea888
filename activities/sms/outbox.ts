import { randomUUID } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SmsMessage, SmsProvider } from './provider';

/**
 * Development provider: one JSON line per message in a file, so that a person, a test or a
 * demo reads the code without a phone. The code appears only in `body`.
 */
export function outboxProvider(file: string): SmsProvider {
  let ready: Promise<unknown> | undefined;
  return {
    name: 'outbox',
    async send(message: SmsMessage) {
      ready ??= mkdir(dirname(file), { recursive: true });
      await ready;
      const messageId = randomUUID();
      const line = { ...message, messageId, at: new Date().toISOString() };
      await appendFile(file, `${JSON.stringify(line)}\n`, { mode: 0o600 });
      return { messageId };
    },
  };
}
