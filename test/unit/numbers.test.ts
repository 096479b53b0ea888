import { describe, expect, it } from 'vitest';
import { maskNumber, normalizeNumber, requireNumber, sameNumber } from '../../domain/numbers';

describe('number identity', () => {
  it.each([
    ['0123456789', '0123456789'],
    ['012 345 6789', '0123456789'],
    ['(012) 345-67.89', '0123456789'],
    ['+94 77 123 4567', '+94771234567'],
    ['[012]3456789', '0123456789'],
  ])('normalizes %s to %s', (raw, normalized) => {
    expect(normalizeNumber(raw)).toBe(normalized);
  });

  it.each([
    ['0123\u00a0456789'],
    ['0123\u2009456789'],
    ['0123\n456789'],
    ['123'],
    ['+'],
    ['abc1234'],
    ['01234567890123456789012'],
    ['٠١٢٣٤٥٦٧٨٩'],
    ['12+345678'],
    [''],
  ])('refuses %s', (raw) => {
    expect(normalizeNumber(raw)).toBeUndefined();
    expect(() => requireNumber(raw, 'phoneNumbers')).toThrowError(/not a phone number/);
  });

  it('treats formatting differences as the same number, and a + as different', () => {
    expect(sameNumber('012-345-6789', '0123456789')).toBe(true);
    expect(sameNumber('+0123456789', '0123456789')).toBe(false);
    expect(sameNumber(undefined, '0123456789')).toBe(false);
  });

  it('masks all but the last four digits', () => {
    expect(maskNumber('+94 77 123 4567')).toBe('******4567');
  });

  it('requireNumber refuses non-strings with the attribute name', () => {
    expect(() => requireNumber(12345678, 'mobile')).toThrowError(/mobile must be a string/);
  });
});
