import { describe, expect, it } from 'vitest';
import { canonicalCode, generateCode, hashCode, sameHash } from '../../domain/codes';
import { cooldownAfterSend } from '../../domain/limits';
import { BUILT_IN_POLICY, effectivePolicy, renderSms } from '../../domain/policy';

const key = Buffer.from('k'.repeat(32));

describe('codes', () => {
  it('generates codes of the asked length and alphabet', () => {
    for (let i = 0; i < 200; i += 1) {
      expect(generateCode(6, 'digits')).toMatch(/^[0-9]{6}$/);
      expect(generateCode(8, 'alphanumeric')).toMatch(/^[A-HJ-NP-Z2-9]{8}$/);
    }
  });

  it('binds a hash to its change: the same code of another change hashes differently', () => {
    expect(hashCode(key, 'change-a', '123456')).not.toBe(hashCode(key, 'change-b', '123456'));
    expect(hashCode(key, 'change-a', '123456')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('hashes with the key: another key gives another hash', () => {
    expect(hashCode(key, 'c', '123456')).not.toBe(hashCode(Buffer.from('x'.repeat(32)), 'c', '123456'));
  });

  it('accepts spaces and lower case in a submitted code', () => {
    expect(canonicalCode(' ab 12 ')).toBe('AB12');
    expect(hashCode(key, 'c', 'ab12')).toBe(hashCode(key, 'c', 'AB12'));
  });

  it('compares hashes exactly', () => {
    const h = hashCode(key, 'c', '1');
    expect(sameHash(h, h)).toBe(true);
    expect(sameHash(h, hashCode(key, 'c', '2'))).toBe(false);
    expect(sameHash(h, 'abcd')).toBe(false);
  });
});

describe('policy', () => {
  it('grows the resend cooldown by half after each send', () => {
    expect([1, 2, 3, 4].map((n) => cooldownAfterSend(30, n))).toEqual([30, 45, 68, 101]);
  });

  it('merges org overrides over the defaults and validates the result', () => {
    expect(effectivePolicy(BUILT_IN_POLICY, { codeTtl: 60 }).codeTtl).toBe(60);
    expect(() => effectivePolicy(BUILT_IN_POLICY, { codeLength: 3 })).toThrow();
    expect(() => effectivePolicy(BUILT_IN_POLICY, { smsTemplate: 'no placeholder' })).toThrow();
  });

  it('renders the SMS with org, code and minutes', () => {
    expect(renderSms(BUILT_IN_POLICY.smsTemplate, { code: '123456', org: 'bifrost', ttlSeconds: 300 })).toBe(
      'Your bifrost verification code is 123456. It expires in 5 minutes.',
    );
  });
});
