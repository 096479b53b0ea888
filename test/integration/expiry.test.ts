import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditEventRow, PendingChangeRow } from '../../db';
import { verificationWorkflowId } from '../../domain/scenarios';
import { ENTERPRISE_USER } from '../../domain/schema';
import { Harness, startHarness } from '../support/harness';
import { userWithPendingChange } from '../support/flows';

const SCENARIO = 'MOBILE_VERIFICATION_ON_UPDATE';
let h: Harness;

// Deadlines in seconds, far below what the policy API accepts, so the timers fire in a test.
beforeAll(async () => {
  h = await startHarness({ policy: { codeTtl: 2, pendingTtl: 6, resendCooldown: 0 } });
});
afterAll(async () => {
  await h?.stop();
});

const pendingChange = (mobile: string) => userWithPendingChange(h, mobile);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('deadlines', () => {
  it('an expired code is answered as expired, not as wrong; a resend gives a working one', async () => {
    const c = await pendingChange('0123500001');
    await sleep(2_300);
    const late = await c.validate(c.code);
    expect(late.status).toBe(400);
    expect(late.body.code).toBe('18002');
    expect((await c.resend()).status).toBe(201);
    const ok = await c.validate(h.codeFor('0123500001', c.id));
    expect(ok.status).toBe(200);
  });

  it('after the pending lifetime the change is cleared and the verification ends expired', async () => {
    const c = await pendingChange('0123500002');
    const handle = h.client.workflow.getHandle(verificationWorkflowId(c.org, c.id, SCENARIO));
    expect((await handle.result()).status).toBe('expired');
    expect(await PendingChangeRow.count({ where: { userId: c.id } })).toBe(0);
    const user = await c.get();
    expect(user.body[ENTERPRISE_USER]).toBeUndefined();
    expect(user.body.phoneNumbers).toEqual([{ type: 'mobile', value: '0111111111' }]);
    const events = (await AuditEventRow.findAll({ where: { userId: c.id } })).map((e) => e.event);
    expect(events).toContain('expired');
    expect((await handle.describe()).searchAttributes.VerificationStatus).toEqual(['expired']);
  });
});
