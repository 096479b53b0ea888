import { invalidValue } from './errors';
import { maskNumber } from './limits';

export { maskNumber };

/** Characters people write inside phone numbers that carry no meaning (ASCII only). */
const SEPARATORS = /[ \-.()[\]]/g;
const PLAUSIBLE = /^\+?[0-9]{4,20}$/;

/**
 * The normalized form that decides whether two numbers are the same number: separators
 * removed, a leading `+` kept, digits as given. Returns undefined for anything that is not a
 * plausible phone number (including non-ASCII digits, which would otherwise compare equal to
 * nothing and slip past uniqueness checks).
 */
export function normalizeNumber(raw: string): string | undefined {
  const compact = raw.replace(SEPARATORS, '');
  return PLAUSIBLE.test(compact) ? compact : undefined;
}

/** Like {@link normalizeNumber}, but a bad value is a 400 `invalidValue` naming the attribute. */
export function requireNumber(raw: unknown, attribute: string): string {
  if (typeof raw !== 'string') {
    throw invalidValue(`${attribute} must be a string phone number`);
  }
  const normalized = normalizeNumber(raw);
  if (normalized === undefined) {
    throw invalidValue(`${attribute}: "${maskNumber(raw)}" is not a phone number (an optional + and 4 to 20 digits)`);
  }
  return normalized;
}

export function sameNumber(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  const na = normalizeNumber(a);
  return na !== undefined && na === normalizeNumber(b);
}

/** Index of `number` in `list` by number identity, or -1. */
export function indexOfNumber(list: readonly string[], number: string): number {
  return list.findIndex((entry) => sameNumber(entry, number));
}

/** `list` without entries that are the same number as an earlier entry (linear time). */
export function uniqueNumbers(list: readonly string[]): string[] {
  const seen = new Set<string>();
  return list.filter((entry) => {
    const key = normalizeNumber(entry) ?? entry;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
