import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditEventRow } from '../../db';
import { PATCH_OP } from '../../domain/schema';
import { ADMIN_SCOPES, Harness, eventually, freshOrg, startHarness } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    policy: { smsPerUserPerHour: 3, resendCooldown: 0, maxResends: 10 },
    env: { VALIDATE_PER_IP_PER_MINUTE: '40' },
  });
});
afterAll(async () => {
  await h?.stop();
});

const setMobile = (value: string) => ({
  schemas: [PATCH_OP],
  Operations: [{ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value }],
});

async function user(org = freshOrg()) {
  const admin = await h.token(org, 'admin', ADMIN_SCOPES);
  const id = (
    await h.call('POST', `/t/${org}/scim2/Users`, {
      token: admin,
      body: { userName: `u${Math.random()}`, phoneNumbers: [{ type: 'mobile', value: '0111111111' }] },
    })
  ).body.id as string;
  const self = await h.token(org, id, 'internal_login');
  return {
    org,
    id,
    admin,
    patch: (n: string) => h.call('PATCH', `/t/${org}/scim2/Users/${id}`, { token: admin, body: setMobile(n) }),
    get: () => h.call('GET', `/t/${org}/scim2/Users/${id}`, { token: admin }),
    resend: () =>
      h.call('POST', `/t/${org}/api/identity/user/v1.0/me/resend-code`, { token: self, body: { properties: [] } }),
    validate: (code: string) =>
      h.call('POST', `/t/${org}/api/identity/user/v1.0/me/validate-code`, {
        token: self,
        body: { code, properties: [] },
      }),
    sms: () => h.outbox().filter((m) => m.userId === id).length,
  };
}

describe('hourly SMS caps', () => {
  it('per user: resends and new changes beyond the cap answer 429 with Retry-After, and no SMS', async () => {
    const u = await user();
    expect((await u.patch('0123400011')).status).toBe(200);
    await eventually(() => expect(u.sms()).toBe(1));
    expect((await u.resend()).status).toBe(201);
    expect((await u.resend()).status).toBe(201);
    const refused = await u.resend();
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('MV-42902');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(3000);
    const before = (await u.get()).body;
    const patch = await u.patch('0123400012');
    expect(patch.status).toBe(429);
    expect(Number(patch.headers.get('retry-after'))).toBeGreaterThan(3000);
    expect((await u.get()).body).toEqual(before);
    expect(u.sms()).toBe(3);
  });

  it('per org: the org cap holds across its users', async () => {
    const org = freshOrg();
    const admin = await h.token(org, 'admin', ADMIN_SCOPES);
    await h.call('PATCH', `/t/${org}/api/server/v1/mobile-verification/policy`, {
      token: admin,
      body: { smsPerOrgPerHour: 2 },
    });
    const [a, b, c] = [await user(org), await user(org), await user(org)];
    expect((await a.patch('0123400021')).status).toBe(200);
    await eventually(() => expect(a.sms()).toBe(1));
    expect((await b.patch('0123400022')).status).toBe(200);
    await eventually(() => expect(b.sms()).toBe(1));
    expect((await c.patch('0123400023')).status).toBe(429);
    expect(c.sms()).toBe(0);
  });
});

describe('brute force', () => {
  it('wrong codes as fast as possible: locked at exactly the policy limit, SMS within the caps', async () => {
    const u = await user();
    await u.patch('0123400031');
    await eventually(() => expect(u.sms()).toBe(1));
    const answers: string[] = [];
    while (!answers.includes('MV-42901') && answers.length < 200) {
      const batch = await Promise.all(Array.from({ length: 8 }, () => u.validate('00000000')));
      answers.push(...batch.map((r) => r.body.code));
      if (!batch.some((r) => r.body.code === '18001' || r.body.code === 'MV-42901')) await u.resend();
    }
    expect(answers.filter((a) => a === '18001')).toHaveLength(9);
    expect(answers.filter((a) => a === 'MV-42901')).toHaveLength(1);
    expect(u.sms()).toBeLessThanOrEqual(3);
    const events = (await AuditEventRow.findAll({ where: { userId: u.id } })).map((e) => e.event);
    expect(events.filter((e) => e === 'attempt_failed')).toHaveLength(9);
    expect(events.filter((e) => e === 'failed')).toHaveLength(1);
  });

  it('one address is limited in validate-code requests per minute, whoever it guesses for', async () => {
    let refused: { status: number; body: { code: string }; headers: Headers } | undefined;
    for (let i = 0; i < 60 && !refused; i += 1) {
      const u = await user();
      const r = await u.validate('123456');
      if (r.status === 429) refused = r;
    }
    expect(refused?.body.code).toBe('MV-42903');
    expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
