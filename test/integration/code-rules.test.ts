import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditEventRow, PendingChangeRow } from '../../db';
import { verificationWorkflowId } from '../../domain/scenarios';
import { ENTERPRISE_USER } from '../../domain/schema';
import { Harness, freshOrg, startHarness } from '../support/harness';
import { userWithPendingChange } from '../support/flows';

const SCENARIO = 'MOBILE_VERIFICATION_ON_UPDATE';
let h: Harness;

// Small limits so each rule is reached in a few requests; no cooldown so resends are immediate.
beforeAll(async () => {
  h = await startHarness({
    policy: { maxAttemptsPerCode: 3, maxAttemptsPerChange: 5, resendCooldown: 0, maxResends: 2 },
  });
});
afterAll(async () => {
  await h?.stop();
});

const pendingChange = (mobile: string) => userWithPendingChange(h, mobile);

const wrongFor = (code: string) => (code === '000000' ? '999999' : '000000');

describe('code rules', () => {
  it('a resend goes to the pending number and kills the earlier code', async () => {
    const c = await pendingChange('0123400001');
    const resent = await c.resend();
    expect(resent.status).toBe(201);
    expect(resent.body).toEqual({ scenario: SCENARIO });
    const sms = h.outbox().filter((m) => m.userId === c.id);
    expect(sms.map((m) => m.to)).toEqual(['0123400001', '0123400001']);
    const second = h.codeFor('0123400001');
    if (second !== c.code) expect((await c.validate(c.code)).body.code).toBe('18001');
    expect((await c.validate(second)).status).toBe(200);
  });

  it('resends are limited: beyond the limit 429 MV-42902 with Retry-After, and no SMS', async () => {
    const c = await pendingChange('0123400002');
    expect((await c.resend()).status).toBe(201);
    expect((await c.resend()).status).toBe(201);
    const refused = await c.resend();
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('MV-42902');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(h.outbox().filter((m) => m.userId === c.id)).toHaveLength(3);
  });

  it('the last wrong try on a code kills it: the right code is then answered as expired', async () => {
    const c = await pendingChange('0123400003');
    const answers = [];
    for (let i = 0; i < 3; i += 1) answers.push((await c.validate(wrongFor(c.code))).body.description);
    expect(answers).toEqual([
      'The code is not valid; 2 tries left',
      'The code is not valid; 1 try left',
      'The code is not valid, and it takes no more tries; ask for a new one with resend-code',
    ]);
    const late = await c.validate(c.code);
    expect(late.status).toBe(400);
    expect(late.body.code).toBe('18002');
    expect((await c.get()).body[ENTERPRISE_USER].pendingMobileNumber).toBe('0123400003');
    expect((await c.resend()).status).toBe(201);
    expect((await c.validate(h.codeFor('0123400003'))).status).toBe(200);
  });

  it('strings that cannot be codes are refused as malformed and use no try', async () => {
    const c = await pendingChange('0123400006');
    for (const notACode of ['1', '٠١٢٣٤٥', '12 34 5678 901', '12345!']) {
      const r = await c.validate(notACode);
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('UAR-10000');
    }
    expect((await c.validate(wrongFor(c.code))).body.description).toBe('The code is not valid; 2 tries left');
  });

  it('a wrong try changes nothing: the user, the pending number and the version stay', async () => {
    const c = await pendingChange('0123400004');
    const before = (await c.get()).body;
    expect((await c.validate(wrongFor(c.code))).status).toBe(400);
    expect((await c.get()).body).toEqual(before);
  });

  it('concurrent wrong codes: the per-change limit holds exactly and then locks', async () => {
    const c = await pendingChange('0123400005');
    const first = await Promise.all(Array.from({ length: 8 }, () => c.validate(wrongFor(c.code))));
    const codes = first.map((r) => r.body.code).sort();
    // Three tries reach the code; after the third it is dead and answers "expired".
    expect(codes).toEqual(['18001', '18001', '18001', '18002', '18002', '18002', '18002', '18002']);
    expect((await c.resend()).status).toBe(201);
    const fresh = h.codeFor('0123400005');
    const second = await Promise.all(Array.from({ length: 4 }, () => c.validate(wrongFor(fresh))));
    expect(second.map((r) => r.status).sort()).toEqual([400, 400, 400, 429].sort());
    const locked = second.find((r) => r.status === 429)!;
    expect(locked.body.code).toBe('MV-42901');

    const handle = h.client.workflow.getHandle(verificationWorkflowId(c.org, c.id, SCENARIO));
    expect((await handle.result()).status).toBe('failed');
    expect(await PendingChangeRow.count({ where: { userId: c.id } })).toBe(0);
    expect((await c.get()).body.phoneNumbers).toEqual([{ type: 'mobile', value: '0111111111' }]);
    const events = (await AuditEventRow.findAll({ where: { userId: c.id }, order: [['id', 'ASC']] })).map(
      (e) => e.event,
    );
    expect(events.filter((e) => e === 'attempt_failed')).toHaveLength(4);
    expect(events.at(-1)).toBe('failed');
    expect((await c.validate(fresh)).body.code).toBe('UAR-10011');
  });

  it('a burst of wrong codes never drops the live pending change', async () => {
    const c = await pendingChange('0123400007');
    const answers = await Promise.all(Array.from({ length: 16 }, () => c.validate(wrongFor(c.code))));
    expect(answers.map((r) => r.body.code)).not.toContain('UAR-10011');
    expect(await PendingChangeRow.count({ where: { userId: c.id } })).toBe(1);
    expect((await c.resend()).status).toBe(201);
    expect((await c.validate(h.codeFor('0123400007', c.id))).status).toBe(200);
  });

  it('validate and resend with nothing pending answer UAR-10011', async () => {
    const org = freshOrg();
    const self = await h.token(org, 'nobody', 'internal_login');
    const v = await h.call('POST', `/t/${org}/api/identity/user/v1.0/me/validate-code`, {
      token: self,
      body: { code: '123456', properties: [] },
    });
    expect(v.status).toBe(400);
    expect(v.body.code).toBe('UAR-10011');
    const r = await h.call('POST', `/t/${org}/api/identity/user/v1.0/me/resend-code`, {
      token: self,
      body: { properties: [] },
    });
    expect(r.body.code).toBe('UAR-10011');
  });
});
