import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';

const DIGITS = '0123456789';
// No 0/O or 1/I: people read these codes off a phone screen.
const ALPHANUMERIC = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A fresh one-time code from the operating system's cryptographically secure generator. */
export function generateCode(length: number, charset: 'digits' | 'alphanumeric'): string {
  const alphabet = charset === 'digits' ? DIGITS : ALPHANUMERIC;
  let code = '';
  for (let i = 0; i < length; i += 1) code += alphabet[randomInt(alphabet.length)];
  return code;
}

/** How a submitted code is compared: people type letters in either case and add spaces. */
export function canonicalCode(submitted: string): string {
  return submitted.replace(/\s+/g, '').toUpperCase();
}

/**
 * The keyed hash that stands for a code everywhere outside the SMS: history, Postgres, logs.
 * Salting with the change id binds a code to its pending change, so a code of an earlier,
 * superseded change never matches a newer one.
 */
export function hashCode(key: Buffer, changeId: string, code: string): string {
  return createHmac('sha256', key)
    .update(`${changeId}:${canonicalCode(code)}`)
    .digest('hex');
}

export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}
