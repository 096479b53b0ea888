import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { open, seal, useDataKeys } from '../../db/sealed';

describe('field encryption at rest', () => {
  it('seals so that the value does not show, and opens it again', () => {
    useDataKeys([{ id: 'a', key: randomBytes(32) }]);
    const sealed = seal('0123456789');
    expect(sealed).toMatch(/^v1:a:/);
    expect(sealed).not.toContain('0123456789');
    expect(seal('0123456789')).not.toBe(sealed);
    expect(open(sealed)).toBe('0123456789');
  });

  it('opens values sealed with an older key after rotation, and refuses unknown keys', () => {
    const old = { id: 'old', key: randomBytes(32) };
    useDataKeys([old]);
    const sealed = seal('x');
    useDataKeys([{ id: 'new', key: randomBytes(32) }, old]);
    expect(open(sealed)).toBe('x');
    expect(seal('y')).toMatch(/^v1:new:/);
    useDataKeys([{ id: 'other', key: randomBytes(32) }]);
    expect(() => open(sealed)).toThrow(/No data key "old"/);
  });
});
