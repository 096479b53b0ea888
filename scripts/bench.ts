/**
 * `npm run bench`: complete flows over HTTP on loopback (PATCH → SMS → validate → committed)
 * against the real stack, and in the same run a baseline of PATCHes that change only
 * attributes without verification. Bounded in clients and time; prints throughput, latency
 * percentiles, the ratio to the baseline, errors and the process's memory.
 *
 *   npm run bench -- --clients 20 --seconds 20
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { mkdtempSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { mintDevToken } from '../api/auth';
import type { SmsProvider } from '../activities/sms/provider';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { dropDatabase, ensureDatabase, resolvePostgres } from '../lib/services/postgres';
import { startTemporal } from '../lib/services/temporal';
import { startStack } from '../lib/stack';
import { routeTemporalLogs } from '../lib/temporal-logs';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '15' },
    users: { type: 'string', default: '400' },
  },
});
const CLIENTS = Math.min(200, Number(values.clients));
const SECONDS = Math.min(300, Number(values.seconds));
const USERS = Math.max(CLIENTS * 2, Number(values.users));

/** Codes by number, straight from the send: the bench measures the engine, not a file. */
const inbox = new Map<string, (code: string) => void>();
const capture: SmsProvider = {
  name: 'outbox',
  async send(message) {
    const code = message.body.match(/code is (\w+)/)![1]!;
    inbox.get(message.to)?.(code);
    return { messageId: randomUUID() };
  },
};

function percentile(sorted: number[], p: number) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

async function main() {
  const logger = createLogger('error');
  routeTemporalLogs(logger, 'ERROR');
  // All clients share one loopback address: lift the per-address limit for the run.
  const config = loadConfig({
    ...process.env,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'mv-bench-')),
    PORT: '0',
    LOG_LEVEL: 'error',
    VALIDATE_PER_IP_PER_MINUTE: '100000',
  });
  config.policyDefaults = { ...config.policyDefaults, smsPerUserPerHour: 1_000, smsPerOrgPerHour: 10_000_000 };
  const postgres = await resolvePostgres({
    databaseUrl: process.env.DATABASE_URL,
    database: 'mobile_verify_bench',
    dataDir: join(config.dataDir, 'pg'),
  });
  await dropDatabase(postgres.url);
  await ensureDatabase(postgres.url);
  const temporal = await startTemporal({ logLevel: 'error' });
  const stack = await startStack({
    config,
    logger,
    databaseUrl: postgres.url,
    temporalAddress: temporal.address,
    smsProviders: { outbox: capture },
  });
  const url = stack.url!;
  const org = 'bench';
  const admin = await mintDevToken(config.auth.devSecret, {
    org,
    sub: 'admin',
    scope: 'internal_user_mgt_create internal_user_mgt_update',
  });
  const call = async (method: string, path: string, token: string, body: unknown) => {
    const started = performance.now();
    const response = await fetch(`${url}/t/${org}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    await response.arrayBuffer();
    return { status: response.status, ms: performance.now() - started };
  };

  process.stderr.write(`provisioning ${USERS} users...\n`);
  const users: { id: string; token: string; busy: boolean }[] = [];
  for (let i = 0; i < USERS; i += 1) {
    const created = await fetch(`${url}/t/${org}/scim2/Users`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        userName: `bench-${i}`,
        phoneNumbers: [{ type: 'mobile', value: `01${String(i).padStart(8, '0')}` }],
      }),
    });
    const id = ((await created.json()) as { id: string }).id;
    users.push({
      id,
      token: await mintDevToken(config.auth.devSecret, { org, sub: id, scope: 'internal_login' }),
      busy: false,
    });
  }
  const memoryBefore = process.memoryUsage().rss;
  const patch = (value: string) => ({
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value }],
  });
  let errors = 0;
  let next = 0;
  const take = () => {
    for (let tries = 0; tries < users.length; tries += 1) {
      const user = users[next++ % users.length]!;
      if (!user.busy) {
        user.busy = true;
        return user;
      }
    }
    throw new Error('no free user');
  };

  async function phase(name: string, work: () => Promise<void>) {
    process.stderr.write(`${name}: ${CLIENTS} clients for ${SECONDS} s...\n`);
    const until = Date.now() + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (Date.now() < until) await work();
      }),
    );
  }

  // Baseline: PATCHes of an attribute that needs no verification.
  const baseline: number[] = [];
  await phase('baseline', async () => {
    const user = take();
    const r = await call('PATCH', `/scim2/Users/${user.id}`, admin, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: 'displayName', value: randomUUID() }],
    });
    if (r.status !== 200) errors += 1;
    else baseline.push(r.ms);
    user.busy = false;
  });

  // Complete flows.
  const patches: number[] = [];
  const validates: number[] = [];
  let counter = 0;
  const started = performance.now();
  await phase('flows', async () => {
    const user = take();
    const number = `09${String(counter++).padStart(8, '0')}`;
    const code = new Promise<string>((resolve) => inbox.set(number, resolve));
    const p = await call('PATCH', `/scim2/Users/${user.id}`, admin, patch(number));
    if (p.status !== 200) errors += 1;
    else patches.push(p.ms);
    const v = await call('POST', '/api/identity/user/v1.0/me/validate-code', user.token, {
      code: await code,
      properties: [],
    });
    inbox.delete(number);
    if (v.status !== 200) errors += 1;
    else validates.push(v.ms);
    user.busy = false;
  });
  const flowSeconds = (performance.now() - started) / 1000;
  const memoryAfter = process.memoryUsage().rss;

  [baseline, patches, validates].forEach((list) => list.sort((a, b) => a - b));
  const row = (name: string, list: number[]) =>
    `${name.padEnd(22)} n=${String(list.length).padStart(6)}  p50 ${fmt(percentile(list, 50)).padStart(9)}  p95 ${fmt(percentile(list, 95)).padStart(9)}  p99 ${fmt(percentile(list, 99)).padStart(9)}`;
  const out = [
    '',
    `mobile-verify benchmark: ${CLIENTS} concurrent clients, ${SECONDS} s per phase, loopback`,
    row('baseline PATCH', baseline),
    row('verified PATCH', patches),
    row('validate-code', validates),
    `complete flows          ${validates.length} in ${flowSeconds.toFixed(1)} s = ${(validates.length / flowSeconds).toFixed(1)} flows/s`,
    `verified / baseline     PATCH p50 ratio ${(percentile(patches, 50) / percentile(baseline, 50)).toFixed(2)}x`,
    `errors                  ${errors}`,
    `process memory (API + worker)  ${mb(memoryBefore)} before flows, ${mb(memoryAfter)} after`,
    '',
  ];
  process.stdout.write(out.join('\n'));

  await stack.stop();
  await temporal.stop();
  await dropDatabase(postgres.url);
  await postgres.stop();
  process.exit(errors === 0 ? 0 : 1);
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${(error as Error).stack}\n`);
  process.exit(1);
});
