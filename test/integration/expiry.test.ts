import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditEventRow, PendingChangeRow } from '../../db';
import { verificationWorkflowId } from '../../domain/scenarios';
import { ENTERPRISE_USER, PATCH_OP } from '../../domain/schema';
import { ADMIN_SCOPES, Harness, eventually, freshOrg, startHarness } from '../support/harness';

const SCENARIO = 'MOBILE_VERIFICATION_ON_UPDATE';
let h: Harness;

// Deadlines in seconds, far below what the policy API accepts, so the timers fire in a test.
beforeAll(async () => {
  h = await startHarness({ policy: { codeTtl: 2, pendingTtl: 6, resendCooldown: 0 } });
});
afterAll(async () => {
  await h?.stop();
});

async function pendingChange(mobile: string) {
  const org = freshOrg();
  const admin = await h.token(org, 'admin', ADMIN_SCOPES);
  const created = await h.call('POST', `/t/${org}/scim2/Users`, {
    token: admin,
    body: { userName: 'dave', phoneNumbers: [{ type: 'mobile', value: '0111111111' }] },
  });
  const id = created.body.id as string;
  await h.call('PATCH', `/t/${org}/scim2/Users/${id}`, {
    token: admin,
    body: {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: mobile }],
    },
  });
  const code = await eventually(() => h.codeFor(mobile));
  const self = await h.token(org, id, 'internal_login');
  return { org, id, admin, self, code };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('deadlines', () => {
  it('an expired code is answered as expired, not as wrong; a resend gives a working one', async () => {
    const c = await pendingChange('0123500001');
    await sleep(2_300);
    const late = await h.call('POST', `/t/${c.org}/api/identity/user/v1.0/me/validate-code`, {
      token: c.self,
      body: { code: c.code, properties: [] },
    });
    expect(late.status).toBe(400);
    expect(late.body.code).toBe('18002');
    const resent = await h.call('POST', `/t/${c.org}/api/identity/user/v1.0/me/resend-code`, {
      token: c.self,
      body: { properties: [] },
    });
    expect(resent.status).toBe(201);
    const fresh = h.codeFor('0123500001');
    const ok = await h.call('POST', `/t/${c.org}/api/identity/user/v1.0/me/validate-code`, {
      token: c.self,
      body: { code: fresh, properties: [] },
    });
    expect(ok.status).toBe(200);
  });

  it('after the pending lifetime the change is cleared and the verification ends expired', async () => {
    const c = await pendingChange('0123500002');
    const handle = h.client.workflow.getHandle(verificationWorkflowId(c.org, c.id, SCENARIO));
    expect((await handle.result()).status).toBe('expired');
    expect(await PendingChangeRow.count({ where: { userId: c.id } })).toBe(0);
    const user = await h.call('GET', `/t/${c.org}/scim2/Users/${c.id}`, { token: c.admin });
    expect(user.body[ENTERPRISE_USER]).toBeUndefined();
    expect(user.body.phoneNumbers).toEqual([{ type: 'mobile', value: '0111111111' }]);
    const events = (await AuditEventRow.findAll({ where: { userId: c.id } })).map((e) => e.event);
    expect(events).toContain('expired');
    expect((await handle.describe()).searchAttributes.VerificationStatus).toEqual(['expired']);
  });
});
