import { QueryTypes } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PATCH_OP, WSO2_USER } from '../../domain/schema';
import { verificationWorkflowId } from '../../domain/scenarios';
import { ADMIN_SCOPES, Harness, eventually, freshOrg, startHarness } from '../support/harness';

/**
 * After flows that verify, resend, fail and stay pending, nothing outside the SMS itself holds
 * a code or a full phone number in clear: not a Postgres table, not a log line, not a metric,
 * not a workflow history as stored (raw payloads, before any codec).
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ policy: { resendCooldown: 0, maxAttemptsPerCode: 2, maxAttemptsPerChange: 3 } });
});
afterAll(async () => {
  await h?.stop();
});

/** Every byte array in a history as latin1 text, so that plaintext anywhere would show. */
function flatten(value: unknown, out: string[] = []): string[] {
  if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('latin1'));
  else if (Array.isArray(value)) value.forEach((v) => flatten(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => flatten(v, out));
  else if (typeof value === 'string') out.push(value);
  return out;
}

describe('no code and no full number in clear', () => {
  it('holds for Postgres, logs and workflow histories after a busy run', async () => {
    const org = freshOrg('secrets');
    const admin = await h.token(org, 'admin', ADMIN_SCOPES);
    const numbers = ['0135790001', '0135790002', '0135790003', '0135790004', '0135790005'];
    const users: { id: string; self: string }[] = [];
    for (let i = 0; i < 4; i += 1) {
      const id = (await h.call('POST', `/t/${org}/scim2/Users`, { token: admin, body: { userName: `s${i}` } })).body
        .id as string;
      users.push({ id, self: await h.token(org, id, 'internal_login') });
    }
    const api = (u: { self: string }, path: string, body: unknown) =>
      h.call('POST', `/t/${org}/api/identity/user/v1.0/me/${path}`, { token: u.self, body });
    const patch = (u: { id: string }, ops: unknown[]) =>
      h.call('PATCH', `/t/${org}/scim2/Users/${u.id}`, {
        token: admin,
        body: { schemas: [PATCH_OP], Operations: ops },
      });
    const mobile = (n: string) => [{ op: 'add', path: 'phoneNumbers[type eq "mobile"].value', value: n }];

    // Verified after a wrong code and a resend.
    await patch(users[0]!, mobile(numbers[0]!));
    await eventually(() => h.codeFor(numbers[0]!, users[0]!.id));
    await api(users[0]!, 'validate-code', { code: 'ZZZZZZ' });
    await api(users[0]!, 'resend-code', { properties: [] });
    expect((await api(users[0]!, 'validate-code', { code: h.codeFor(numbers[0]!, users[0]!.id) })).status).toBe(200);
    // Failed after too many wrong codes.
    await patch(users[1]!, mobile(numbers[1]!));
    await eventually(() => h.codeFor(numbers[1]!, users[1]!.id));
    for (let i = 0; i < 3; i += 1) await api(users[1]!, 'validate-code', { code: 'ZZZZZZ' });
    // Superseded, then left pending.
    await patch(users[2]!, mobile(numbers[2]!));
    await eventually(() => h.codeFor(numbers[2]!, users[2]!.id));
    await patch(users[2]!, mobile(numbers[3]!));
    await eventually(() => h.codeFor(numbers[3]!, users[2]!.id));
    // A verified-list change left pending.
    await patch(users[3]!, [{ op: 'add', path: `${WSO2_USER}:verifiedMobileNumbers`, value: numbers[4] }]);
    await eventually(() => h.codeFor(numbers[4]!, users[3]!.id));

    const codes = h
      .outbox()
      .filter((m) => users.some((u) => u.id === m.userId))
      .map((m) => m.body.match(/code is (\w+)/)![1]!);
    expect(codes.length).toBeGreaterThanOrEqual(6);

    const db = h.stack.db.sequelize;
    const tables = await db.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'`,
      { type: QueryTypes.SELECT },
    );
    expect(tables.map((t) => t.name)).toContain('users');
    const dumps: string[] = [];
    for (const { name } of tables) {
      const rows = await db.query<{ j: string }>(`SELECT row_to_json(t)::text AS j FROM "${name}" t`, {
        type: QueryTypes.SELECT,
      });
      dumps.push(...rows.map((r) => r.j));
    }
    const histories: string[] = [];
    for (const u of users) {
      for (const scenario of [
        'MOBILE_VERIFICATION_ON_UPDATE',
        'MOBILE_VERIFICATION_ON_VERIFIED_LIST_UPDATE',
      ] as const) {
        try {
          const history = await h.client.workflow.getHandle(verificationWorkflowId(org, u.id, scenario)).fetchHistory();
          histories.push(...flatten(history));
        } catch {
          // this user has no verification of that scenario
        }
      }
    }
    expect(histories.length).toBeGreaterThan(100);

    const metrics = (await h.call('GET', '/metrics')).body as string;
    expect(metrics).toContain('mv_codes_sent_total');
    const places: [string, string][] = [
      ['metrics', metrics],
      ['Postgres', dumps.join('\n')],
      ['logs', h.logs.join('\n')],
      ['workflow histories', histories.join('\n')],
    ];
    for (const [where, text] of places) {
      for (const code of codes)
        expect(new RegExp(`(^|[^0-9A-Z])${code}([^0-9A-Z]|$)`).test(text), `a code in ${where}`).toBe(false);
      for (const n of numbers) {
        expect(text.includes(n), `${n} in ${where}`).toBe(false);
        expect(text.includes(Buffer.from(`"${n}"`).toString('base64').slice(0, 14)), `${n} (base64) in ${where}`).toBe(
          false,
        );
      }
    }
    // The masked form is there, as it should be.
    expect(dumps.join('\n')).toContain('******0001');
  });
});
