import { randomUUID } from 'node:crypto';
import { MessageAttributeValue, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SmsMessage, SmsPermanentError, SmsProvider } from './provider';

export interface SnsOptions {
  region: string;
  /** An SNS-compatible endpoint (e.g. a local mock); the SDK's regional endpoint when absent. */
  endpoint?: string;
  /** Alphanumeric sender id shown on the phone where carriers support it. */
  senderId?: string;
  /** Per HTTP attempt; the SDK makes at most two attempts, the activity retries the rest. */
  timeoutMs?: number;
}

/**
 * Errors by which SNS refuses this message for good: a malformed or unsupported number, an
 * opted-out number, a bad parameter. Retrying cannot help. The query protocol's codes are
 * listed too, for errors the SDK could not map to its own classes.
 */
const PERMANENT = new Set([
  'InvalidParameterException',
  'InvalidParameterValueException',
  'OptedOutException',
  'InvalidParameter',
  'ParameterValueInvalid',
  'InvalidParameterValue',
  'OptedOut',
]);

export function isPermanentSnsError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { Code?: unknown }).Code;
  return PERMANENT.has(error.name) || (typeof code === 'string' && PERMANENT.has(code));
}

/** Provider messages may quote the number; nothing that looks like one leaves this module. */
function scrub(text: string): string {
  return text.replace(/\+?\d(?:[\s()-]?\d){6,}/g, '<number>');
}

/** `OptedOutException`, `ThrottledException`, `TimeoutError`, or a socket code (`ECONNREFUSED`). */
function errorName(error: unknown): string {
  if (!(error instanceof Error)) return 'Error';
  const code = (error as { code?: unknown }).code;
  return error.name === 'Error' && typeof code === 'string' ? code : error.name;
}

/**
 * SMS through AWS SNS `Publish` to a phone number, transactional. Credentials come from the
 * SDK's default chain (environment, profile, container or instance role). The client is made on
 * the first send, so a configuration that never uses SNS costs nothing.
 */
export function snsProvider(options: SnsOptions): SmsProvider {
  const timeoutMs = options.timeoutMs ?? 5_000;
  let client: SNSClient | undefined;
  const clientOf = () =>
    (client ??= new SNSClient({
      region: options.region,
      endpoint: options.endpoint,
      maxAttempts: 2,
      // Without throwOnRequestTimeout the SDK only logs a warning when requestTimeout passes.
      requestHandler: {
        connectionTimeout: Math.min(timeoutMs, 2_000),
        requestTimeout: timeoutMs,
        throwOnRequestTimeout: true,
      },
    }));

  return {
    name: 'aws-sns',
    async send(message: SmsMessage) {
      const attributes: Record<string, MessageAttributeValue> = {
        'AWS.SNS.SMS.SMSType': { DataType: 'String', StringValue: 'Transactional' },
      };
      const senderId = message.senderId ?? options.senderId;
      if (senderId) attributes['AWS.SNS.SMS.SenderID'] = { DataType: 'String', StringValue: senderId };
      let messageId: string | undefined;
      try {
        ({ MessageId: messageId } = await clientOf().send(
          new PublishCommand({ PhoneNumber: message.to, Message: message.body, MessageAttributes: attributes }),
          // Bounds both attempts and the backoff between them.
          { abortSignal: AbortSignal.timeout(2 * timeoutMs + 1_000) },
        ));
      } catch (error) {
        const name = errorName(error);
        const text = scrub(error instanceof Error ? error.message : String(error));
        if (isPermanentSnsError(error)) throw new SmsPermanentError(`SNS refused the SMS: ${name}: ${text}`);
        // Throttling, 5xx, network errors and timeouts: the activity's retry policy tries again.
        throw new Error(`SNS publish failed: ${name}: ${text}`);
      }
      // A 200 means SNS took the message: never send it twice for want of an id.
      return { messageId: messageId ?? randomUUID() };
    },
  };
}
