import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AuditEventRow } from '../../db';
import { verificationWorkflowId } from '../../domain/scenarios';
import { PATCH_OP } from '../../domain/schema';
import { ADMIN_SCOPES, Harness, TEST_PAYLOAD_KEYS, eventually, freshOrg, startHarness } from '../support/harness';

/**
 * Reliability drill: the worker is a separate process, killed with SIGKILL while a change is
 * pending. After a restart every flow finishes and each claim changes exactly once.
 */
const ROOT = join(__dirname, '..', '..');
let h: Harness;
let worker: ChildProcess | undefined;

function startWorker(): Promise<ChildProcess> {
  const child = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'worker', 'main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: inject('databaseUrl'),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
      DATA_DIR: h.config.dataDir,
      PAYLOAD_KEYS: TEST_PAYLOAD_KEYS,
      SMS_OUTBOX_FILE: h.config.smsOutboxFile,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk;
      if (out.includes('worker started')) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk) => (out += chunk));
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}:\n${out}`)));
  });
}

beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(async () => {
  worker?.kill('SIGKILL');
  await h?.stop();
});

describe('drills', () => {
  it('worker killed with SIGKILL between PATCH and validate: after a restart the flow finishes, committed once', async () => {
    worker = await startWorker();
    const org = freshOrg('drill');
    const admin = await h.token(org, 'admin', ADMIN_SCOPES);
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const id = (
        await h.call('POST', `/t/${org}/scim2/Users`, {
          token: admin,
          body: { userName: `d${i}`, phoneNumbers: [{ type: 'mobile', value: '0111111111' }] },
        })
      ).body.id;
      await h.call('PATCH', `/t/${org}/scim2/Users/${id}`, {
        token: admin,
        body: {
          schemas: [PATCH_OP],
          Operations: [{ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: `012345700${i}` }],
        },
      });
      ids.push(id);
    }
    const codes = await eventually(() => ids.map((id, i) => h.codeFor(`012345700${i}`, id)), 60_000);

    worker.kill('SIGKILL');
    await new Promise((resolve) => worker!.once('exit', resolve));
    worker = await startWorker();

    for (const [i, id] of ids.entries()) {
      const self = await h.token(org, id, 'internal_login');
      const r = await h.call('POST', `/t/${org}/api/identity/user/v1.0/me/validate-code`, {
        token: self,
        body: { code: codes[i] },
      });
      expect(r.status).toBe(200);
      expect(
        (await h.client.workflow.getHandle(verificationWorkflowId(org, id, 'MOBILE_VERIFICATION_ON_UPDATE')).result())
          .status,
      ).toBe('verified');
      expect(await AuditEventRow.count({ where: { userId: id, event: 'verified' } })).toBe(1);
      const user = await h.call('GET', `/t/${org}/scim2/Users/${id}`, { token: admin });
      expect(user.body.phoneNumbers).toEqual([{ type: 'mobile', value: `012345700${i}` }]);
      // created (1), change held pending (2), verified (3): nothing committed twice.
      expect(user.body.meta.version).toBe('W/"3"');
    }
  });

  it('worker killed while a validate is in flight: a retry of the same code gets the same success, committed once', async () => {
    worker ??= await startWorker();
    const org = freshOrg('drill');
    const admin = await h.token(org, 'admin', ADMIN_SCOPES);
    const id = (
      await h.call('POST', `/t/${org}/scim2/Users`, {
        token: admin,
        body: { userName: 'k', phoneNumbers: [{ type: 'mobile', value: '0111111111' }] },
      })
    ).body.id;
    await h.call('PATCH', `/t/${org}/scim2/Users/${id}`, {
      token: admin,
      body: {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '0123457010' }],
      },
    });
    const code = await eventually(() => h.codeFor('0123457010', id), 60_000);
    const self = await h.token(org, id, 'internal_login');
    const validate = () =>
      h.call('POST', `/t/${org}/api/identity/user/v1.0/me/validate-code`, { token: self, body: { code } });

    const inFlight = validate();
    worker.kill('SIGKILL');
    await new Promise((resolve) => worker!.once('exit', resolve));
    worker = await startWorker();
    const first = await inFlight;
    expect([200, 503]).toContain(first.status);
    const retry = await eventually(async () => {
      const r = await validate();
      expect(r.status).toBe(200);
      return r;
    }, 30_000);
    expect(retry.body).toEqual({ scenario: 'MOBILE_VERIFICATION_ON_UPDATE', mobile: '0123457010' });
    expect(await AuditEventRow.count({ where: { userId: id, event: 'verified' } })).toBe(1);
  });
});
