import { describe, expect, it } from 'vitest';
import { primaryMobileOf } from '../../domain/claims';
import { ScimError } from '../../domain/errors';
import { applyPatch } from '../../domain/patch';
import { BUILT_IN_POLICY, Policy } from '../../domain/policy';
import { UserDoc, readResource } from '../../domain/resource';
import { PRIMARY_UPDATE, VERIFIED_LIST_UPDATE } from '../../domain/scenarios';
import { PATCH_OP, WSO2_USER } from '../../domain/schema';
import { DecideInput, PendingView, decide } from '../../domain/verification';

const stored = (overrides: Record<string, unknown> = {}): UserDoc =>
  readResource({ userName: 'bob123', phoneNumbers: [{ type: 'mobile', value: '0111111111' }], ...overrides });

function run(opts: {
  doc?: UserDoc;
  phoneVerified?: boolean;
  pending?: PendingView[];
  ops?: unknown[];
  put?: unknown;
  policy?: Partial<Policy>;
  via?: 'admin' | 'self';
}) {
  const doc = opts.doc ?? stored();
  const next = opts.put
    ? { doc: readResource(opts.put), touched: 'all' as const }
    : applyPatch(doc, { schemas: [PATCH_OP], Operations: opts.ops ?? [] });
  const input: DecideInput = {
    stored: { doc, phoneVerified: opts.phoneVerified ?? true },
    pending: opts.pending ?? [],
    next: next.doc,
    touched: next.touched,
    policy: { ...BUILT_IN_POLICY, ...opts.policy },
    via: opts.via ?? 'admin',
  };
  return decide(input);
}

const setMobile = (value: string) => ({ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value });

describe('scenario 1: primary mobile update', () => {
  it('1. the same number: nothing pending, no verification', () => {
    const d = run({ ops: [setMobile('011-111-1111')] });
    expect(d.start).toEqual([]);
    expect(d.cancel).toEqual([]);
    expect(primaryMobileOf(d.doc)).toBe('0111111111');
  });

  it('1. the same unverified number with verifyMobile: true verifies the current number', () => {
    const d = run({
      phoneVerified: false,
      ops: [setMobile('0111111111'), { op: 'add', path: `${WSO2_USER}:verifyMobile`, value: true }],
    });
    expect(d.start).toEqual([{ scenario: PRIMARY_UPDATE, number: '0111111111', alsoVerifiedList: false }]);
    expect(d.doc[WSO2_USER]).toBeUndefined();
  });

  it('3. a running check of the current number goes on when a sync client PUTs the same number', () => {
    const pending: PendingView[] = [{ scenario: PRIMARY_UPDATE, number: '0111111111' }];
    const put = run({
      phoneVerified: false,
      pending,
      put: { userName: 'bob123', phoneNumbers: [{ type: 'mobile', value: '0111111111' }] },
    });
    expect(put.cancel).toEqual([]);
    expect(put.start).toEqual([]);
    const again = run({
      phoneVerified: false,
      pending,
      ops: [{ op: 'add', path: `${WSO2_USER}:verifyMobile`, value: true }],
    });
    expect(again.start).toEqual([]);
  });

  it('2. a number already in the verified list becomes primary at once, verified', () => {
    const doc = stored({ [WSO2_USER]: { verifiedMobileNumbers: '0111111111,0123456789' } });
    const d = run({ doc, phoneVerified: false, ops: [setMobile('0123456789')] });
    expect(d.start).toEqual([]);
    expect(primaryMobileOf(d.doc)).toBe('0123456789');
    expect(d.phoneVerified).toBe(true);
  });

  it('3. the number already pending: nothing new', () => {
    const d = run({ pending: [{ scenario: PRIMARY_UPDATE, number: '0123456789' }], ops: [setMobile('0123456789')] });
    expect(d.start).toEqual([]);
    expect(d.cancel).toEqual([]);
    expect(primaryMobileOf(d.doc)).toBe('0111111111');
  });

  it('4. a new number is held back and starts a verification', () => {
    const d = run({ ops: [setMobile('0123456789'), { op: 'replace', path: 'name.givenName', value: 'Robert' }] });
    expect(d.start).toEqual([{ scenario: PRIMARY_UPDATE, number: '0123456789', alsoVerifiedList: false }]);
    expect(primaryMobileOf(d.doc)).toBe('0111111111');
    expect((d.doc.name as Record<string, unknown>).givenName).toBe('Robert');
    expect(d.phoneVerified).toBe(true);
  });

  it('4. a new number while another is pending starts a new one (the caller supersedes)', () => {
    const d = run({ pending: [{ scenario: PRIMARY_UPDATE, number: '0123456789' }], ops: [setMobile('0199999999')] });
    expect(d.start.map((s) => s.number)).toEqual(['0199999999']);
  });

  it('5. a PUT with the current number while a change is pending cancels it', () => {
    const d = run({
      pending: [{ scenario: PRIMARY_UPDATE, number: '0123456789' }],
      put: { userName: 'bob123', phoneNumbers: [{ type: 'mobile', value: '0111111111' }] },
    });
    expect(d.cancel).toEqual([PRIMARY_UPDATE]);
    expect(d.start).toEqual([]);
  });

  it('5. a PATCH that does not touch phoneNumbers leaves the pending change alone', () => {
    const d = run({
      pending: [{ scenario: PRIMARY_UPDATE, number: '0123456789' }],
      ops: [{ op: 'replace', path: 'name.givenName', value: 'Robert' }],
    });
    expect(d.cancel).toEqual([]);
  });

  it('6. removing the primary needs no proof and cancels the pending change', () => {
    const d = run({
      pending: [{ scenario: PRIMARY_UPDATE, number: '0123456789' }],
      ops: [{ op: 'remove', path: 'phoneNumbers[type eq "mobile"]' }],
    });
    expect(primaryMobileOf(d.doc)).toBeUndefined();
    expect(d.phoneVerified).toBe(false);
    expect(d.cancel).toEqual([PRIMARY_UPDATE]);
  });

  it('a user without a mobile who gets one: held back, shown as pending only', () => {
    const doc = readResource({ userName: 'bob123' });
    const d = run({ doc, phoneVerified: false, ops: [setMobile('0123456789')].map((o) => ({ ...o, op: 'add' })) });
    expect(primaryMobileOf(d.doc)).toBeUndefined();
    expect(d.start.map((s) => s.number)).toEqual(['0123456789']);
  });

  it('with verification disabled, a new number is committed unverified', () => {
    const d = run({ policy: { enabled: false }, ops: [setMobile('0123456789')] });
    expect(primaryMobileOf(d.doc)).toBe('0123456789');
    expect(d.phoneVerified).toBe(false);
    expect(d.start).toEqual([]);
  });

  it('admin bypass commits directly where policy allows, and is refused where it does not', () => {
    const ops = [setMobile('0123456789'), { op: 'add', path: `${WSO2_USER}:verifyMobile`, value: false }];
    const allowed = run({ policy: { allowAdminBypass: true }, ops });
    expect(allowed.bypassed).toBe(true);
    expect(primaryMobileOf(allowed.doc)).toBe('0123456789');
    expect(() => run({ ops })).toThrow(ScimError);
    expect(() => run({ policy: { allowAdminBypass: true }, via: 'self', ops })).toThrow(/not allowed/);
  });
});

describe('scenario 2: verified list update', () => {
  const doc = () => stored({ [WSO2_USER]: { mobileNumbers: '0111111111', verifiedMobileNumbers: '0111111111' } });
  const setList = (value: string) => ({ op: 'replace', value: { [WSO2_USER]: { verifiedMobileNumbers: value } } });

  it('holds a new verified number back and starts its verification', () => {
    const d = run({ doc: doc(), ops: [setList('0111111111,0123456789')] });
    expect(d.start).toEqual([{ scenario: VERIFIED_LIST_UPDATE, number: '0123456789', alsoVerifiedList: false }]);
    expect(d.doc[WSO2_USER]).toEqual({ mobileNumbers: ['0111111111'], verifiedMobileNumbers: ['0111111111'] });
  });

  it('refuses two new numbers at once with UMV-10002', () => {
    expect(() => run({ doc: doc(), ops: [setList('0111111111,0123456789,0155555555')] })).toThrow(/UMV-10002/);
  });

  it('a primary change and the same number in the verified list start one verification', () => {
    const d = run({ doc: doc(), ops: [setMobile('0123456789'), setList('0111111111,0123456789')] });
    expect(d.start).toEqual([{ scenario: PRIMARY_UPDATE, number: '0123456789', alsoVerifiedList: true }]);
  });
});
