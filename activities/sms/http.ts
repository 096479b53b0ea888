import { randomUUID } from 'node:crypto';
import { SmsMessage, SmsPermanentError, SmsProvider } from './provider';

export interface HttpSmsOptions {
  url: string;
  token: string;
  timeoutMs: number;
}

/** Statuses by which a gateway refuses this message for good (bad number, unknown route). */
const PERMANENT_STATUSES = new Set([400, 404, 422]);

/**
 * What a gateway's answer means: `sent`, `permanent` (retrying cannot help) or `retry`
 * (408, 429, 5xx, and anything else unexpected such as a 401 from a rotated token, which an
 * operator can fix while the activity retries).
 */
export function httpOutcome(status: number): 'sent' | 'permanent' | 'retry' {
  if (status >= 200 && status < 300) return 'sent';
  return PERMANENT_STATUSES.has(status) ? 'permanent' : 'retry';
}

/**
 * Any SMS gateway that takes a JSON POST `{ to, body, org, scenario, userId }` with a bearer
 * token and answers 2xx with an optional `messageId`. Error texts name the status only: a
 * gateway's reply may quote the number.
 */
export function httpProvider(options: HttpSmsOptions): SmsProvider {
  return {
    name: 'http',
    async send(message: SmsMessage) {
      const { to, body, org, scenario, userId } = message;
      let response: Response;
      let text: string;
      try {
        response = await fetch(options.url, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            Accept: 'application/json',
            Authorization: `Bearer ${options.token}`,
          },
          body: JSON.stringify({ to, body, org, scenario, userId }),
          redirect: 'error',
          signal: AbortSignal.timeout(options.timeoutMs),
        });
        text = await response.text();
      } catch (error) {
        const reason =
          error instanceof Error
            ? error.name === 'TimeoutError'
              ? `no answer within ${options.timeoutMs} ms`
              : error.name
            : 'error';
        const code = (error as { cause?: { code?: unknown } }).cause?.code;
        throw new Error(`SMS gateway unreachable: ${reason}${typeof code === 'string' ? ` (${code})` : ''}`);
      }
      const outcome = httpOutcome(response.status);
      if (outcome === 'permanent') throw new SmsPermanentError(`SMS gateway refused the SMS: HTTP ${response.status}`);
      if (outcome === 'retry') throw new Error(`SMS gateway failed: HTTP ${response.status}`);
      let messageId: unknown;
      try {
        messageId = (JSON.parse(text) as { messageId?: unknown } | null)?.messageId;
      } catch {
        // Not JSON: the gateway took the message all the same.
      }
      return { messageId: typeof messageId === 'string' && messageId.length > 0 ? messageId : randomUUID() };
    },
  };
}
