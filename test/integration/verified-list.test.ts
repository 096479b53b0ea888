import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditEventRow } from '../../db';
import { verificationWorkflowId } from '../../domain/scenarios';
import { ENTERPRISE_USER, PATCH_OP, WSO2_USER } from '../../domain/schema';
import { ADMIN_SCOPES, Harness, eventually, freshOrg, startHarness } from '../support/harness';

const PRIMARY = 'MOBILE_VERIFICATION_ON_UPDATE';
const LIST = 'MOBILE_VERIFICATION_ON_VERIFIED_LIST_UPDATE';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ policy: { resendCooldown: 0 } });
});
afterAll(async () => {
  await h?.stop();
});

async function bob(extra: Record<string, unknown> = {}) {
  const org = freshOrg('bifrost');
  const admin = await h.token(org, 'admin', ADMIN_SCOPES);
  const created = await h.call('POST', `/t/${org}/scim2/Users`, {
    token: admin,
    body: {
      userName: 'bob123',
      phoneNumbers: [{ type: 'mobile', value: '0111111111' }],
      [WSO2_USER]: { mobileNumbers: '0111111111', verifiedMobileNumbers: '0111111111' },
      ...extra,
    },
  });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  const self = await h.token(org, id, 'internal_login');
  const me = (method: string, body?: unknown) => h.call(method, `/t/${org}/scim2/Me`, { token: self, body });
  const code = (path: 'validate-code' | 'resend-code', body: unknown) =>
    h.call('POST', `/t/${org}/api/identity/user/v1.0/me/${path}`, { token: self, body });
  const scenario = (value: string) => [{ key: 'RecoveryScenario', value }];
  return { org, id, admin, self, me, code, scenario };
}

const setVerified = (value: unknown) => ({
  schemas: [PATCH_OP],
  Operations: [{ op: 'replace', value: { [WSO2_USER]: { verifiedMobileNumbers: value } } }],
});

describe('scenario 2: the verified list', () => {
  it("runs the reference's second scenario through /Me: pending, resend, old code refused, new code accepted", async () => {
    const u = await bob();
    const patched = await u.me('PATCH', setVerified('0111111111,0123456789'));
    expect(patched.status).toBe(200);
    expect(patched.body.phoneNumbers).toEqual([{ type: 'mobile', value: '0111111111' }]);
    expect(patched.body[WSO2_USER]).toMatchObject({ mobileNumbers: '0111111111', verifiedMobileNumbers: '0111111111' });
    expect(patched.body[ENTERPRISE_USER]).toEqual({ pendingMobileNumber: '0123456789' });

    const first = await eventually(() => h.codeFor('0123456789', u.id));
    const resent = await u.code('resend-code', { properties: u.scenario(LIST) });
    expect(resent.status).toBe(201);
    const second = h.codeFor('0123456789', u.id);
    expect(
      h
        .outbox()
        .filter((m) => m.userId === u.id)
        .map((m) => m.scenario),
    ).toEqual([LIST, LIST]);
    if (second !== first)
      expect((await u.code('validate-code', { code: first, properties: u.scenario(LIST) })).body.code).toBe('18001');
    const ok = await u.code('validate-code', { code: second, properties: u.scenario(LIST) });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ scenario: LIST, mobile: '0123456789' });

    const after = await u.me('GET');
    expect(after.body[WSO2_USER]).toEqual({
      mobileNumbers: '0111111111,0123456789',
      verifiedMobileNumbers: '0111111111,0123456789',
      phoneVerified: true,
    });
    expect(after.body.phoneNumbers).toEqual([{ type: 'mobile', value: '0111111111' }]);
    expect(after.body[ENTERPRISE_USER]).toBeUndefined();
  });

  it('accepts the verified list as a JSON array as well', async () => {
    const u = await bob();
    const r = await u.me('PATCH', setVerified(['0111111111', '0123456789']));
    expect(r.body[ENTERPRISE_USER]).toEqual({ pendingMobileNumber: '0123456789' });
  });

  it('refuses two new verified numbers at once with UMV-10002 and applies nothing', async () => {
    const u = await bob();
    const before = (await u.me('GET')).body;
    const r = await u.me('PATCH', setVerified('0111111111,0123456789,0155555555'));
    expect(r.status).toBe(400);
    expect(r.body.scimType).toBe('invalidValue');
    expect(r.body.detail).toMatch(/UMV-10002/);
    expect((await u.me('GET')).body).toEqual(before);
  });

  it('removals from the verified list apply at once, without proof', async () => {
    const u = await bob({
      [WSO2_USER]: { mobileNumbers: '0111111111,0122222222', verifiedMobileNumbers: '0111111111,0122222222' },
    });
    const r = await u.me('PATCH', setVerified('0111111111'));
    expect(r.body[WSO2_USER]).toMatchObject({
      mobileNumbers: '0111111111,0122222222',
      verifiedMobileNumbers: '0111111111',
    });
    expect(r.body[ENTERPRISE_USER]).toBeUndefined();
  });

  it('a number removed from the mobile list leaves the verified list too', async () => {
    const u = await bob({
      [WSO2_USER]: { mobileNumbers: '0111111111,0122222222', verifiedMobileNumbers: '0111111111,0122222222' },
    });
    const r = await u.me('PATCH', {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: `${WSO2_USER}:mobileNumbers`, value: '0111111111' }],
    });
    expect(r.body[WSO2_USER]).toMatchObject({ mobileNumbers: '0111111111', verifiedMobileNumbers: '0111111111' });
  });

  it('a verified number becomes primary when the user has none', async () => {
    const u = await bob({ phoneNumbers: [], [WSO2_USER]: {} });
    await u.me('PATCH', setVerified('0123456789'));
    const code = await eventually(() => h.codeFor('0123456789', u.id));
    expect((await u.code('validate-code', { code, properties: [] })).status).toBe(200);
    const me = (await u.me('GET')).body;
    expect(me.phoneNumbers).toEqual([{ type: 'mobile', value: '0123456789' }]);
    expect(me[WSO2_USER].phoneVerified).toBe(true);
  });

  it('removing the pending number from the list cancels its verification', async () => {
    const u = await bob();
    await u.me('PATCH', setVerified('0111111111,0123456789'));
    await eventually(() => h.codeFor('0123456789', u.id));
    const r = await u.me('PATCH', {
      schemas: [PATCH_OP],
      Operations: [{ op: 'remove', path: `${WSO2_USER}:verifiedMobileNumbers`, value: '0123456789' }],
    });
    expect(r.body[ENTERPRISE_USER]).toBeUndefined();
    const handle = h.client.workflow.getHandle(verificationWorkflowId(u.org, u.id, LIST));
    expect((await handle.result()).status).toBe('cancelled');
  });
});

describe('scenario 2: repeats, supersede and policy', () => {
  it('the number already pending for the list: nothing changes, no new SMS', async () => {
    const u = await bob();
    await u.me('PATCH', setVerified('0111111111,0123456789'));
    await eventually(() => h.codeFor('0123456789', u.id));
    const again = await u.me('PATCH', setVerified('0111111111,0123456789'));
    expect(again.body[ENTERPRISE_USER]).toEqual({ pendingMobileNumber: '0123456789' });
    expect(h.outbox().filter((m) => m.userId === u.id)).toHaveLength(1);
  });

  it('a new number while another is pending for the list supersedes it', async () => {
    const u = await bob();
    await u.me('PATCH', setVerified('0111111111,0123456789'));
    const first = await eventually(() => h.codeFor('0123456789', u.id));
    const handle = h.client.workflow.getHandle(verificationWorkflowId(u.org, u.id, LIST));
    const firstRun = (await handle.describe()).runId;
    const r = await u.me('PATCH', setVerified('0111111111,0155555555'));
    expect(r.body[ENTERPRISE_USER]).toEqual({ pendingMobileNumber: '0155555555' });
    expect((await h.client.workflow.getHandle(handle.workflowId, firstRun).result()).status).toBe('superseded');
    const second = await eventually(() => h.codeFor('0155555555', u.id));
    if (second !== first)
      expect((await u.code('validate-code', { code: first, properties: [] })).body.code).toBe('18001');
    expect((await u.code('validate-code', { code: second, properties: [] })).status).toBe(200);
    expect((await u.me('GET')).body[WSO2_USER].verifiedMobileNumbers).toBe('0111111111,0155555555');
  });

  it('an org that keeps a single number refuses the lists with invalidValue', async () => {
    const u = await bob();
    const policy = await h.call('PATCH', `/t/${u.org}/api/server/v1/mobile-verification/policy`, {
      token: u.admin,
      body: { multipleNumbers: false },
    });
    expect(policy.status).toBe(200);
    const r = await u.me('PATCH', setVerified('0111111111,0123456789'));
    expect(r.status).toBe(400);
    expect(r.body.scimType).toBe('invalidValue');
    expect(h.outbox().filter((m) => m.userId === u.id)).toHaveLength(0);
  });

  it('a verification keeps the policy it started with', async () => {
    const u = await bob();
    await u.me('PATCH', setVerified('0111111111,0123456789'));
    expect(await eventually(() => h.codeFor('0123456789', u.id))).toMatch(/^[0-9]{6}$/);
    await h.call('PATCH', `/t/${u.org}/api/server/v1/mobile-verification/policy`, {
      token: u.admin,
      body: { codeLength: 9 },
    });
    expect((await u.code('resend-code', { properties: [] })).status).toBe(201);
    expect(h.codeFor('0123456789', u.id)).toMatch(/^[0-9]{6}$/);
  });
});

describe('both scenarios pending at once', () => {
  it('shows the primary as pendingMobileNumber and lists both; each completes on its own', async () => {
    const u = await bob();
    await u.me('PATCH', setVerified('0111111111,0123456789'));
    const r = await u.me('PATCH', {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '0199999999' }],
    });
    expect(r.body[ENTERPRISE_USER]).toEqual({ pendingMobileNumber: '0199999999' });
    expect(
      r.body[WSO2_USER].pendingMobileNumbers.map((p: { value: string; scenario: string }) => [p.scenario, p.value]),
    ).toEqual([
      [PRIMARY, '0199999999'],
      [LIST, '0123456789'],
    ]);

    const listCode = await eventually(() => h.codeFor('0123456789', u.id));
    const primaryCode = await eventually(() => h.codeFor('0199999999', u.id));
    const unnamed = await u.code('resend-code', { properties: [] });
    expect(unnamed.status).toBe(400);
    expect(unnamed.body.code).toBe('UAR-10011');

    // Without a scenario the code is tried against both changes.
    const ok = await u.code('validate-code', { code: listCode, properties: [] });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ scenario: LIST, mobile: '0123456789' });
    const ok2 = await u.code('validate-code', { code: primaryCode, properties: u.scenario(PRIMARY) });
    expect(ok2.body).toEqual({ scenario: PRIMARY, mobile: '0199999999' });

    const me = (await u.me('GET')).body;
    expect(me.phoneNumbers).toEqual([{ type: 'mobile', value: '0199999999' }]);
    expect(me[WSO2_USER]).toMatchObject({ verifiedMobileNumbers: '0111111111,0123456789', phoneVerified: true });
  });

  it('without a scenario, the right code of one change is no wrong try for the other, and a retry succeeds again', async () => {
    const u = await bob();
    await u.me('PATCH', setVerified('0111111111,0123456789'));
    await u.me('PATCH', {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '0199999998' }],
    });
    const primaryCode = await eventually(() => h.codeFor('0199999998', u.id));
    await eventually(() => h.codeFor('0123456789', u.id));
    const first = await u.code('validate-code', { code: primaryCode, properties: [] });
    expect(first.body).toEqual({ scenario: PRIMARY, mobile: '0199999998' });
    const retry = await u.code('validate-code', { code: primaryCode, properties: [] });
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual({ scenario: PRIMARY, mobile: '0199999998' });
    const events = (await AuditEventRow.findAll({ where: { userId: u.id } })).map((e) => e.event);
    expect(events).not.toContain('attempt_failed');
    const listCode = h.codeFor('0123456789', u.id);
    expect((await u.code('validate-code', { code: listCode, properties: [] })).body).toEqual({
      scenario: LIST,
      mobile: '0123456789',
    });
  });

  it('one request that changes the primary to N and adds N to the list starts one verification for both', async () => {
    const u = await bob();
    const r = await u.me('PATCH', {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '0177777777' },
        { op: 'add', path: `${WSO2_USER}:verifiedMobileNumbers`, value: '0177777777' },
      ],
    });
    expect(r.body[WSO2_USER].pendingMobileNumbers).toHaveLength(1);
    const code = await eventually(() => h.codeFor('0177777777', u.id));
    expect(h.outbox().filter((m) => m.userId === u.id)).toHaveLength(1);
    expect((await u.code('validate-code', { code, properties: [] })).status).toBe(200);
    const me = (await u.me('GET')).body;
    expect(me.phoneNumbers).toEqual([{ type: 'mobile', value: '0177777777' }]);
    expect(me[WSO2_USER]).toMatchObject({
      mobileNumbers: '0111111111,0177777777',
      verifiedMobileNumbers: '0111111111,0177777777',
    });
  });
});
