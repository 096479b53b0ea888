import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findTemporalCli } from '../../lib/services/temporal';
import { SmsPermanentError, SmsProvider } from '../../activities/sms/provider';
import { outboxProvider } from '../../activities/sms/outbox';
import { verificationWorkflowId } from '../../domain/scenarios';
import { PATCH_OP } from '../../domain/schema';
import { state } from '../../workflows/messages';
import { ADMIN_SCOPES, Harness, eventually, freshOrg, startHarness } from '../support/harness';

/**
 * Drives one verification down each path and checks its ending. With RECORD_HISTORIES=1
 * (`npm run record-histories`) it also writes each history to test/fixtures/histories/, where
 * the replay test picks it up.
 */
const SCENARIO = 'MOBILE_VERIFICATION_ON_UPDATE';
const RECORD = process.env.RECORD_HISTORIES === '1';
const DIR = join(__dirname, '..', 'fixtures', 'histories');
let h: Harness;
let refuseNext = false;

beforeAll(async () => {
  // The harness's outbox, except that it refuses once when asked to: the send-failed path.
  let outbox: SmsProvider | undefined;
  const flaky: SmsProvider = {
    name: 'outbox',
    async send(message) {
      if (refuseNext) {
        refuseNext = false;
        throw new SmsPermanentError('number refused');
      }
      return outbox!.send(message);
    },
  };
  h = await startHarness({
    policy: { maxAttemptsPerCode: 2, maxAttemptsPerChange: 3, resendCooldown: 0, codeTtl: 60, pendingTtl: 6 },
    smsProviders: { outbox: flaky },
  });
  outbox = outboxProvider(h.config.smsOutboxFile);
});
afterAll(async () => {
  await h?.stop();
});

async function start(mobile: string) {
  const org = freshOrg('replay');
  const admin = await h.token(org, 'admin', ADMIN_SCOPES);
  const id = (
    await h.call('POST', `/t/${org}/scim2/Users`, {
      token: admin,
      body: { userName: 'rita', phoneNumbers: [{ type: 'mobile', value: '0111111111' }] },
    })
  ).body.id;
  const patch = (value: string) =>
    h.call('PATCH', `/t/${org}/scim2/Users/${id}`, {
      token: admin,
      body: {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value }],
      },
    });
  await patch(mobile);
  const self = await h.token(org, id, 'internal_login');
  const handle = h.client.workflow.getHandle(verificationWorkflowId(org, id, SCENARIO));
  const runId = (await handle.describe()).runId;
  const validate = (code: string) =>
    h.call('POST', `/t/${org}/api/identity/user/v1.0/me/validate-code`, {
      token: self,
      body: { code, properties: [] },
    });
  const resend = () =>
    h.call('POST', `/t/${org}/api/identity/user/v1.0/me/resend-code`, { token: self, body: { properties: [] } });
  return { org, id, patch, validate, resend, runId, handle: h.client.workflow.getHandle(handle.workflowId, runId) };
}

async function finish(name: string, flow: Awaited<ReturnType<typeof start>>, status: string) {
  const { handle } = flow;
  expect((await handle.result()).status).toBe(status);
  if (!RECORD) return;
  // The CLI writes the history in the JSON form that historyFromJSON reads back.
  const cli = findTemporalCli();
  if (!cli) throw new Error('recording needs the Temporal CLI: run npm run setup');
  const json = execFileSync(cli, [
    'workflow',
    'show',
    '--address',
    inject('temporalAddress'),
    '-w',
    handle.workflowId,
    '-r',
    flow.runId,
    '-o',
    'json',
  ]);
  writeFileSync(join(DIR, `${name}.json`), json);
}

const wrong = (code: string) => (code === '000000' ? '999999' : '000000');

describe('every path through the verification', () => {
  it('verified after a wrong code and a resend', async () => {
    const f = await start('0120000001');
    const first = await eventually(() => h.codeFor('0120000001'));
    expect((await f.validate(wrong(first))).status).toBe(400);
    expect((await f.resend()).status).toBe(201);
    expect((await f.validate(h.codeFor('0120000001'))).status).toBe(200);
    await finish('v4-verified-after-resend', f, 'verified');
  });

  it('superseded by a newer change', async () => {
    const f = await start('0120000002');
    await eventually(() => h.codeFor('0120000002'));
    await f.patch('0120000003');
    await finish('v4-superseded', f, 'superseded');
  });

  it('cancelled by setting the number back', async () => {
    const f = await start('0120000004');
    await eventually(() => h.codeFor('0120000004'));
    await f.patch('0111111111');
    await finish('v4-cancelled', f, 'cancelled');
  });

  it('expired after the pending lifetime', async () => {
    const f = await start('0120000005');
    await finish('v4-expired', f, 'expired');
  });

  it('failed after too many wrong codes', async () => {
    const f = await start('0120000006');
    const code = await eventually(() => h.codeFor('0120000006'));
    for (let i = 0; i < 2; i += 1) await f.validate(wrong(code));
    await f.resend();
    expect((await f.validate(wrong(h.codeFor('0120000006')))).status).toBe(429);
    await finish('v4-failed', f, 'failed');
  });

  it('send failed, then a resend delivered and the code verified', async () => {
    refuseNext = true;
    const f = await start('0120000007');
    await eventually(async () => expect((await f.handle.query(state)).status).toBe('send_failed'));
    expect((await f.resend()).status).toBe(201);
    expect((await f.validate(h.codeFor('0120000007'))).status).toBe(200);
    await finish('v4-send-failed-then-verified', f, 'verified');
  });
});
