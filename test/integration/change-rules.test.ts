import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verificationWorkflowId } from '../../domain/scenarios';
import { ENTERPRISE_USER, PATCH_OP, WSO2_USER } from '../../domain/schema';
import { ADMIN_SCOPES, Harness, eventually, freshOrg, startHarness } from '../support/harness';

const PRIMARY = 'MOBILE_VERIFICATION_ON_UPDATE';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ policy: { resendCooldown: 0 } });
});
afterAll(async () => {
  await h?.stop();
});

const setMobile = (value: string) => ({
  schemas: [PATCH_OP],
  Operations: [{ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value }],
});

async function user() {
  const org = freshOrg();
  const admin = await h.token(org, 'admin', ADMIN_SCOPES);
  const created = await h.call('POST', `/t/${org}/scim2/Users`, {
    token: admin,
    body: { userName: 'frank', name: { givenName: 'Frank' }, phoneNumbers: [{ type: 'mobile', value: '0111111111' }] },
  });
  const id = created.body.id as string;
  const self = await h.token(org, id, 'internal_login');
  const asAdmin = (method: string, body?: unknown) =>
    h.call(method, `/t/${org}/scim2/Users/${id}`, { token: admin, body });
  const validate = (code: string) =>
    h.call('POST', `/t/${org}/api/identity/user/v1.0/me/validate-code`, {
      token: self,
      body: { code, properties: [] },
    });
  const resend = () =>
    h.call('POST', `/t/${org}/api/identity/user/v1.0/me/resend-code`, { token: self, body: { properties: [] } });
  const sms = () => h.outbox().filter((m) => m.userId === id);
  const codeFor = (n: string) => eventually(() => h.codeFor(n, id));
  return { org, id, admin, self, asAdmin, validate, resend, sms, codeFor };
}

describe('rules of a pending change', () => {
  it('a second change of the primary after a first one completed works like the first', async () => {
    const u = await user();
    await u.asAdmin('PATCH', setMobile('0122222222'));
    expect((await u.validate(await u.codeFor('0122222222'))).status).toBe(200);
    const second = await u.asAdmin('PATCH', setMobile('0133333333'));
    expect(second.body.phoneNumbers).toEqual([{ type: 'mobile', value: '0122222222' }]);
    expect(second.body[ENTERPRISE_USER]).toEqual({ pendingMobileNumber: '0133333333' });
    expect((await u.validate(await u.codeFor('0133333333'))).body).toEqual({ scenario: PRIMARY, mobile: '0133333333' });
    expect((await u.asAdmin('GET')).body.phoneNumbers).toEqual([{ type: 'mobile', value: '0133333333' }]);
  });

  it('a resend goes to the number pending now, not to an older or the committed number', async () => {
    const u = await user();
    await u.asAdmin('PATCH', setMobile('0122222222'));
    await u.codeFor('0122222222');
    await u.asAdmin('PATCH', setMobile('0133333333'));
    await u.codeFor('0133333333');
    expect((await u.resend()).status).toBe(201);
    expect(u.sms().map((m) => m.to)).toEqual(['0122222222', '0133333333', '0133333333']);
  });

  it('while a change is pending the old primary is still the number, still verified', async () => {
    const u = await user();
    await u.asAdmin('PATCH', setMobile('0122222222'));
    expect((await u.validate(await u.codeFor('0122222222'))).status).toBe(200);
    await u.asAdmin('PATCH', setMobile('0144444444'));
    const during = (await u.asAdmin('GET')).body;
    expect(during.phoneNumbers).toEqual([{ type: 'mobile', value: '0122222222' }]);
    expect(during[WSO2_USER].phoneVerified).toBe(true);
  });

  it('an administrator bypass while a change is pending cancels it and kills its code', async () => {
    const u = await user();
    const policy = await h.call('PATCH', `/t/${u.org}/api/server/v1/mobile-verification/policy`, {
      token: u.admin,
      body: { allowAdminBypass: true },
    });
    expect(policy.status).toBe(200);
    expect(policy.body.allowAdminBypass).toBe(true);
    await u.asAdmin('PATCH', setMobile('0155555555'));
    const code = await u.codeFor('0155555555');
    const bypass = await u.asAdmin('PATCH', {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '0166666666' },
        { op: 'add', path: `${WSO2_USER}:verifyMobile`, value: false },
      ],
    });
    expect(bypass.status).toBe(200);
    expect(bypass.body.phoneNumbers).toEqual([{ type: 'mobile', value: '0166666666' }]);
    expect(bypass.body[WSO2_USER].phoneVerified).toBe(false);
    expect(bypass.body[ENTERPRISE_USER]).toBeUndefined();
    expect((await h.client.workflow.getHandle(verificationWorkflowId(u.org, u.id, PRIMARY)).result()).status).toBe(
      'cancelled',
    );
    expect((await u.validate(code)).body.code).toBe('UAR-10011');
    const audit = await h.call('GET', `/t/${u.org}/api/server/v1/mobile-verification/audit/${u.id}`, {
      token: u.admin,
    });
    expect(audit.body.events.map((e: { event: string }) => e.event)).toEqual([
      'created',
      'started',
      'cancelled',
      'bypassed',
    ]);
  });

  it('the bypass is refused where the policy does not allow it, and through /Me', async () => {
    const u = await user();
    const body = {
      schemas: [PATCH_OP],
      Operations: [
        {
          op: 'replace',
          value: { phoneNumbers: [{ type: 'mobile', value: '0166666666' }], [WSO2_USER]: { verifyMobile: false } },
        },
      ],
    };
    const refused = await u.asAdmin('PATCH', body);
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toMatch(/not allowed/);
    expect(u.sms()).toHaveLength(0);
  });

  it('an accepted code submitted after a newer change started is 18001', async () => {
    const u = await user();
    await u.asAdmin('PATCH', setMobile('0122222222'));
    const code = await u.codeFor('0122222222');
    expect((await u.validate(code)).status).toBe(200);
    await u.asAdmin('PATCH', setMobile('0177777777'));
    const fresh = await u.codeFor('0177777777');
    if (fresh !== code) expect((await u.validate(code)).body.code).toBe('18001');
  });

  it('the same PATCH through /Me and through /Users/{id} ends in the same state', async () => {
    const a = await user();
    const b = await user();
    const body = {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'replace', value: { phoneNumbers: [{ type: 'mobile', value: '0188888888' }] } },
        { op: 'replace', path: 'name.givenName', value: 'Francis' },
      ],
    };
    const viaAdmin = await a.asAdmin('PATCH', body);
    const viaMe = await h.call('PATCH', `/t/${b.org}/scim2/Me`, { token: b.self, body });
    const comparable = (r: { body: Record<string, any> }) => {
      const { id: _id, meta: _meta, [WSO2_USER]: wso2, ...rest } = r.body;
      return {
        ...rest,
        pending: wso2.pendingMobileNumbers.map((p: { value: string }) => p.value),
        phoneVerified: wso2.phoneVerified,
      };
    };
    expect(comparable(viaMe)).toEqual(comparable(viaAdmin));
  });

  it('a PATCH that sets the primary back to its verified value cancels, with no SMS', async () => {
    const u = await user();
    await u.asAdmin('PATCH', setMobile('0199999999'));
    await u.codeFor('0199999999');
    const back = await u.asAdmin('PATCH', setMobile('011 111 1111'));
    expect(back.body[ENTERPRISE_USER]).toBeUndefined();
    expect(back.body.phoneNumbers).toEqual([{ type: 'mobile', value: '0111111111' }]);
    expect(back.body[WSO2_USER].phoneVerified).toBe(false);
    expect(u.sms()).toHaveLength(1);
  });

  it('verifyMobile: true verifies an unverified current primary', async () => {
    const u = await user();
    const r = await u.asAdmin('PATCH', {
      schemas: [PATCH_OP],
      Operations: [{ op: 'add', path: `${WSO2_USER}:verifyMobile`, value: true }],
    });
    expect(r.body[ENTERPRISE_USER]).toEqual({ pendingMobileNumber: '0111111111' });
    expect((await u.validate(await u.codeFor('0111111111'))).status).toBe(200);
    expect((await u.asAdmin('GET')).body[WSO2_USER].phoneVerified).toBe(true);
  });
});

describe('a pending change whose workflow is gone', () => {
  it('is removed when the user tries a code for it, and no longer shows as pending', async () => {
    const u = await user();
    await u.asAdmin('PATCH', setMobile('0122334455'));
    const code = await u.codeFor('0122334455');
    // What a crash between ending the workflow and committing leaves behind.
    await h.client.workflow.getHandle(verificationWorkflowId(u.org, u.id, PRIMARY)).terminate('drill: workflow gone');
    expect((await u.asAdmin('GET')).body[ENTERPRISE_USER]).toEqual({ pendingMobileNumber: '0122334455' });
    const r = await u.validate(code);
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('UAR-10011');
    expect((await u.asAdmin('GET')).body[ENTERPRISE_USER]).toBeUndefined();
    const again = await u.asAdmin('PATCH', setMobile('0122334455'));
    expect(again.body[ENTERPRISE_USER]).toEqual({ pendingMobileNumber: '0122334455' });
    await eventually(() => expect(u.sms()).toHaveLength(2));
  });
});

describe('policy per org', () => {
  it('answers the effective policy and validates changes', async () => {
    const org = freshOrg();
    const admin = await h.token(org, 'admin', ADMIN_SCOPES);
    const got = await h.call('GET', `/t/${org}/api/server/v1/mobile-verification/policy`, { token: admin });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ enabled: true, codeLength: 6, maxAttemptsPerCode: 5 });
    const bad = await h.call('PATCH', `/t/${org}/api/server/v1/mobile-verification/policy`, {
      token: admin,
      body: { codeLength: 3 },
    });
    expect(bad.status).toBe(400);
    const unknown = await h.call('PATCH', `/t/${org}/api/server/v1/mobile-verification/policy`, {
      token: admin,
      body: { shoe: 1 },
    });
    expect(unknown.status).toBe(400);
    expect(
      (await h.call('GET', `/t/${org}/api/server/v1/mobile-verification/policy`, { token: admin })).body.codeLength,
    ).toBe(6);
  });

  it('refuses an SMS provider that this deployment has not configured', async () => {
    const org = freshOrg();
    const admin = await h.token(org, 'admin', ADMIN_SCOPES);
    const r = await h.call('PATCH', `/t/${org}/api/server/v1/mobile-verification/policy`, {
      token: admin,
      body: { smsProvider: 'http' },
    });
    expect(r.status).toBe(400);
    expect(r.body.description ?? r.body.detail).toMatch(/not configured/);
  });

  it('two policy changes sent at once both take effect', async () => {
    const org = freshOrg();
    const admin = await h.token(org, 'admin', ADMIN_SCOPES);
    const path = `/t/${org}/api/server/v1/mobile-verification/policy`;
    for (let round = 0; round < 5; round += 1) {
      await Promise.all([
        h.call('PATCH', path, { token: admin, body: { codeTtl: 100 + round } }),
        h.call('PATCH', path, { token: admin, body: { maxResends: round } }),
      ]);
      expect((await h.call('GET', path, { token: admin })).body).toMatchObject({
        codeTtl: 100 + round,
        maxResends: round,
      });
    }
  });

  it('a new code length applies to verifications started afterwards', async () => {
    const u = await user();
    await h.call('PATCH', `/t/${u.org}/api/server/v1/mobile-verification/policy`, {
      token: u.admin,
      body: { codeLength: 8 },
    });
    await u.asAdmin('PATCH', setMobile('0123123123'));
    expect(await u.codeFor('0123123123')).toMatch(/^[0-9]{8}$/);
  });

  it("one org cannot read or change another org's policy", async () => {
    const mine = await h.token(freshOrg(), 'admin', ADMIN_SCOPES);
    const r = await h.call('PATCH', `/t/${freshOrg()}/api/server/v1/mobile-verification/policy`, {
      token: mine,
      body: { enabled: false },
    });
    expect(r.status).toBe(403);
  });
});
