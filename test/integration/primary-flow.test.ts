import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verificationWorkflowId } from '../../domain/scenarios';
import { ENTERPRISE_USER, PATCH_OP, WSO2_USER } from '../../domain/schema';
import { ADMIN_SCOPES, Harness, eventually, freshOrg, startHarness } from '../support/harness';

const SCENARIO = 'MOBILE_VERIFICATION_ON_UPDATE';
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const replaceMobile = (value: string) => ({
  schemas: [PATCH_OP],
  Operations: [{ op: 'replace', value: { phoneNumbers: [{ type: 'mobile', value }] } }],
});

async function newUser(org: string, extra: Record<string, unknown> = {}, mobile = '0111111111') {
  const admin = await h.token(org, 'admin', ADMIN_SCOPES);
  const created = await h.call('POST', `/t/${org}/scim2/Users`, {
    token: admin,
    body: {
      userName: `user-${Math.random().toString(36).slice(2)}`,
      phoneNumbers: [{ type: 'mobile', value: mobile }],
      ...extra,
    },
  });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  return { id, admin, self: await h.token(org, id, 'internal_login') };
}

const validate = (org: string, token: string, code: string, properties: unknown[] = []) =>
  h.call('POST', `/t/${org}/api/identity/user/v1.0/me/validate-code`, { token, body: { code, properties } });

async function finalStatus(org: string, userId: string) {
  const handle = h.client.workflow.getHandle(verificationWorkflowId(org, userId, SCENARIO));
  return (await handle.result()).status;
}

describe('the reference walk-through', () => {
  it('holds the new primary back, texts a code, and commits it on the right code', async () => {
    const org = 'bifrost';
    const admin = await h.token(org, 'admin', ADMIN_SCOPES);
    const created = await h.call('POST', `/t/${org}/scim2/Users`, {
      token: admin,
      body: {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: 'bob123',
        name: { givenName: 'Bob', familyName: 'Smith' },
        emails: ['bob@example.com'],
        phoneNumbers: [{ type: 'mobile', value: '0111111111' }],
      },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`${h.url}/t/bifrost/scim2/Users/${created.body.id}`);
    const id = created.body.id;

    const patched = await h.call('PATCH', `/t/${org}/scim2/Users/${id}`, {
      token: admin,
      body: replaceMobile('0123456789'),
    });
    expect(patched.status).toBe(200);
    expect(patched.body.phoneNumbers).toEqual([{ type: 'mobile', value: '0111111111' }]);
    expect(patched.body[ENTERPRISE_USER]).toEqual({ pendingMobileNumber: '0123456789' });
    expect(patched.body.schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE_USER, WSO2_USER]);

    const sms = await eventually(() => {
      const lines = h.outbox().filter((m) => m.userId === id);
      expect(lines).toHaveLength(1);
      return lines[0]!;
    });
    expect(sms.to).toBe('0123456789');
    expect(sms.org).toBe('bifrost');
    expect(sms.scenario).toBe(SCENARIO);
    const code = h.codeFor('0123456789');
    expect(code).toMatch(/^[0-9]{6}$/);

    const bob = await h.token(org, id, 'internal_login');
    const wrongCode = code === '000000' ? '111111' : '000000';
    const wrong = await validate(org, bob, wrongCode);
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ code: '18001' });
    expect(wrong.body.description).toMatch(/4 tries left/);
    expect(wrong.body.traceId).toMatch(/^[0-9a-f-]{36}$/);

    const right = await validate(org, bob, code);
    expect(right.status).toBe(200);
    expect(right.body).toEqual({ scenario: SCENARIO, mobile: '0123456789' });

    const after = await h.call('GET', `/t/${org}/scim2/Users/${id}`, { token: admin });
    expect(after.body.phoneNumbers).toEqual([{ type: 'mobile', value: '0123456789' }]);
    expect(after.body[WSO2_USER]).toEqual({ phoneVerified: true });
    expect(after.body[ENTERPRISE_USER]).toBeUndefined();

    const handle = h.client.workflow.getHandle(verificationWorkflowId(org, id, SCENARIO));
    expect((await handle.result()).status).toBe('verified');
    const description = await handle.describe();
    expect(description.status.name).toBe('COMPLETED');
    expect(description.searchAttributes.VerificationStatus).toEqual(['verified']);
    expect(description.searchAttributes.UserId).toEqual([id]);
    expect(description.searchAttributes.MaskedMobile).toEqual(['******6789']);

    // The code never appears in clear: not in history, not in Postgres, not in the logs.
    // History as stored: payloads are encrypted, so neither the code nor the number is in it.
    const history = JSON.stringify((await handle.fetchHistory()).events);
    expect(history).not.toContain(code);
    expect(history).not.toContain('0123456789');
    expect(history).not.toContain(Buffer.from('0123456789').toString('base64').slice(0, 12));
    expect(history).toContain(Buffer.from('binary/encrypted').toString('base64'));
    const [rows] = await h.stack.db.sequelize.query(
      `SELECT 'users' AS t, row_to_json(u)::text AS j FROM users u
       UNION ALL SELECT 'pending', row_to_json(p)::text FROM pending_changes p
       UNION ALL SELECT 'accepted', row_to_json(a)::text FROM accepted_codes a
       UNION ALL SELECT 'audit', row_to_json(e)::text FROM audit_events e`,
    );
    const dump = (rows as { j: string }[]).map((r) => r.j).join('\n');
    expect(dump).toContain('******6789');
    expect(dump).not.toMatch(new RegExp(`(^|[^0-9])${code}([^0-9]|$)`));
    expect(h.logs.join('\n')).not.toContain(code);
    expect(h.logs.join('\n')).not.toContain('0123456789');
  });
});

describe('scenario 1 over HTTP', () => {
  it('a number from the verified list becomes primary at once, without an SMS', async () => {
    const org = freshOrg();
    const { id, admin } = await newUser(org, { [WSO2_USER]: { verifiedMobileNumbers: '0111111111,0122222222' } });
    const patched = await h.call('PATCH', `/t/${org}/scim2/Users/${id}`, {
      token: admin,
      body: replaceMobile('0122222222'),
    });
    expect(patched.status).toBe(200);
    expect(patched.body.phoneNumbers).toEqual([{ type: 'mobile', value: '0122222222' }]);
    expect(patched.body[WSO2_USER].phoneVerified).toBe(true);
    expect(patched.body[ENTERPRISE_USER]).toBeUndefined();
    expect(h.outbox().filter((m) => m.userId === id)).toHaveLength(0);
  });

  it('two PATCHes with the same new number: one SMS, one verification, both 200', async () => {
    const org = freshOrg();
    const { id, admin, self } = await newUser(org);
    for (let i = 0; i < 2; i += 1) {
      const r = await h.call('PATCH', `/t/${org}/scim2/Users/${id}`, {
        token: admin,
        body: replaceMobile('0133333333'),
      });
      expect(r.status).toBe(200);
      expect(r.body[ENTERPRISE_USER].pendingMobileNumber).toBe('0133333333');
    }
    await eventually(() => expect(h.outbox().filter((m) => m.userId === id)).toHaveLength(1));
    expect((await validate(org, self, h.codeFor('0133333333'))).status).toBe(200);
  });

  it('a newer change supersedes: the old code stops working and the old workflow ends superseded', async () => {
    const org = freshOrg();
    const { id, admin, self } = await newUser(org);
    await h.call('PATCH', `/t/${org}/scim2/Users/${id}`, { token: admin, body: replaceMobile('0144444444') });
    const oldCode = await eventually(() => h.codeFor('0144444444'));
    const firstRun = (await h.client.workflow.getHandle(verificationWorkflowId(org, id, SCENARIO)).describe()).runId;

    const second = await h.call('PATCH', `/t/${org}/scim2/Users/${id}`, {
      token: admin,
      body: replaceMobile('0155555555'),
    });
    expect(second.body[ENTERPRISE_USER].pendingMobileNumber).toBe('0155555555');
    const old = h.client.workflow.getHandle(verificationWorkflowId(org, id, SCENARIO), firstRun);
    expect((await old.result()).status).toBe('superseded');

    const newCode = await eventually(() => h.codeFor('0155555555'));
    if (newCode !== oldCode) {
      expect((await validate(org, self, oldCode)).body.code).toBe('18001');
    }
    expect((await validate(org, self, newCode)).status).toBe(200);
    const me = await h.call('GET', `/t/${org}/scim2/Me`, { token: self });
    expect(me.body.phoneNumbers).toEqual([{ type: 'mobile', value: '0155555555' }]);
  });

  it('a PUT with the current number cancels the pending change; no SMS', async () => {
    const org = freshOrg();
    const { id, admin, self } = await newUser(org);
    await h.call('PATCH', `/t/${org}/scim2/Users/${id}`, { token: admin, body: replaceMobile('0166666666') });
    const current = await h.call('GET', `/t/${org}/scim2/Users/${id}`, { token: admin });
    const { [ENTERPRISE_USER]: _pending, ...body } = current.body;
    const put = await h.call('PUT', `/t/${org}/scim2/Users/${id}`, {
      token: admin,
      body: { ...body, phoneNumbers: [{ type: 'mobile', value: '0111111111' }] },
    });
    expect(put.status).toBe(200);
    expect(put.body[ENTERPRISE_USER]).toBeUndefined();
    expect(await finalStatus(org, id)).toBe('cancelled');
    expect((await validate(org, self, '123456')).body.code).toBe('UAR-10011');
  });

  it('removing the primary while a change is pending clears it and its codes', async () => {
    const org = freshOrg();
    const { id, admin, self } = await newUser(org);
    await h.call('PATCH', `/t/${org}/scim2/Users/${id}`, { token: admin, body: replaceMobile('0177777777') });
    const code = await eventually(() => h.codeFor('0177777777'));
    const removed = await h.call('PATCH', `/t/${org}/scim2/Users/${id}`, {
      token: admin,
      body: { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: 'phoneNumbers[type eq "mobile"]' }] },
    });
    expect(removed.status).toBe(200);
    expect(removed.body.phoneNumbers).toBeUndefined();
    expect(removed.body[WSO2_USER].phoneVerified).toBe(false);
    expect(removed.body[ENTERPRISE_USER]).toBeUndefined();
    expect(await finalStatus(org, id)).toBe('cancelled');
    expect((await validate(org, self, code)).body.code).toBe('UAR-10011');
  });

  it('the user changes their own number through /Me and validates it', async () => {
    const org = freshOrg();
    const { id, self } = await newUser(org);
    const r = await h.call('PATCH', `/t/${org}/scim2/Me`, {
      token: self,
      body: {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '0188888888' }],
      },
    });
    expect(r.status).toBe(200);
    expect(r.body.id).toBe(id);
    expect(r.body[ENTERPRISE_USER].pendingMobileNumber).toBe('0188888888');
    const code = await eventually(() => h.codeFor('0188888888'));
    expect((await validate(org, self, code, [{ key: 'RecoveryScenario', value: SCENARIO }])).status).toBe(200);
  });

  it('a retried validate after success gets the same success and commits nothing twice', async () => {
    const org = freshOrg();
    const { id, admin, self } = await newUser(org);
    await h.call('PATCH', `/t/${org}/scim2/Users/${id}`, { token: admin, body: replaceMobile('0199999999') });
    const code = await eventually(() => h.codeFor('0199999999'));
    expect((await validate(org, self, code)).status).toBe(200);
    const version = (await h.call('GET', `/t/${org}/scim2/Users/${id}`, { token: admin })).body.meta.version;
    const again = await validate(org, self, code);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ scenario: SCENARIO, mobile: '0199999999' });
    expect((await h.call('GET', `/t/${org}/scim2/Users/${id}`, { token: admin })).body.meta.version).toBe(version);
    const wrong = await validate(org, self, code === '000000' ? '111111' : '000000');
    expect(wrong.body.code).toBe('UAR-10011');
  });

  it('a resend within the cooldown after the first SMS is 429 with Retry-After, and sends nothing', async () => {
    const org = freshOrg();
    const { id, admin, self } = await newUser(org);
    await h.call('PATCH', `/t/${org}/scim2/Users/${id}`, { token: admin, body: replaceMobile('0112121212') });
    await eventually(() => h.codeFor('0112121212', id));
    const early = await h.call('POST', `/t/${org}/api/identity/user/v1.0/me/resend-code`, {
      token: self,
      body: { properties: [{ key: 'RecoveryScenario', value: SCENARIO }] },
    });
    expect(early.status).toBe(429);
    expect(early.body.code).toBe('MV-42902');
    expect(Number(early.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(h.outbox().filter((m) => m.userId === id)).toHaveLength(1);
  });
});
