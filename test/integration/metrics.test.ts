import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PATCH_OP } from '../../domain/schema';
import { ADMIN_SCOPES, Harness, eventually, freshOrg, startHarness } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

function value(text: string, name: string, labels: string): number {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{${labels}}`) || (labels === '' && l.startsWith(`${name} `)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('/metrics', () => {
  it('counts one flow: started 1, verified 1, one code sent, one wrong try; logs carry the trace id', async () => {
    const org = freshOrg();
    const admin = await h.token(org, 'admin', ADMIN_SCOPES);
    const id = (
      await h.call('POST', `/t/${org}/scim2/Users`, {
        token: admin,
        body: { userName: 'mia', phoneNumbers: [{ type: 'mobile', value: '0111111111' }] },
      })
    ).body.id;
    const patched = await h.call('PATCH', `/t/${org}/scim2/Users/${id}`, {
      token: admin,
      body: {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '0123456783' }],
      },
    });
    // The gauge counts the whole database, which other test files share: at least this one.
    const pendingNow = await h.call('GET', '/metrics');
    expect(value(pendingNow.body, 'mv_pending_changes', '')).toBeGreaterThanOrEqual(1);
    const code = await eventually(() => h.codeFor('0123456783', id));
    const self = await h.token(org, id, 'internal_login');
    const validate = (c: string) =>
      h.call('POST', `/t/${org}/api/identity/user/v1.0/me/validate-code`, { token: self, body: { code: c } });
    await validate(code === '000000' ? '111111' : '000000');
    expect((await validate(code)).status).toBe(200);

    const scrape = await h.call('GET', '/metrics');
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toMatch(/text\/plain/);
    const text = scrape.body as string;
    const scenario = 'scenario="MOBILE_VERIFICATION_ON_UPDATE"';
    expect(value(text, 'mv_verifications_started_total', scenario)).toBe(1);
    expect(value(text, 'mv_verifications_finished_total', `${scenario},status="verified"`)).toBe(1);
    expect(value(text, 'mv_codes_sent_total', 'provider="outbox"')).toBe(1);
    expect(value(text, 'mv_wrong_codes_total', scenario)).toBe(1);
    expect(text).toMatch(/^mv_pending_changes \d+$/m);
    expect(text).toMatch(
      /mv_http_request_duration_seconds_bucket\{le="0.15",method="PATCH",route="\/t\/:org\/scim2\/Users\/:id",status="200"\}/,
    );
    expect(text).not.toContain('0123456783');
    expect(text).not.toContain(code);

    // The workflow's own log line carries the trace id of the request that started it.
    const ended = await eventually(() => {
      const line = h.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'verification ended' && l.userId === id);
      expect(line).toBeDefined();
      return line;
    });
    expect(ended).toMatchObject({ status: 'verified', org, traceId: patched.headers.get('x-trace-id') });
  });
});
