import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verificationWorkflowId } from '../../domain/scenarios';
import { PATCH_OP } from '../../domain/schema';
import { state } from '../../workflows/messages';
import { ADMIN_SCOPES, Harness, eventually, freshOrg, startHarness } from '../support/harness';
import { MOTO_ENV, Moto, startMoto } from '../support/moto';

/**
 * The real SMS providers end to end: `aws-sns` against moto's SNS on loopback, `http` against a
 * small gateway this file runs. Both are reached through the stack's default providers, set up
 * from environment settings alone.
 */
const SCENARIO = 'MOBILE_VERIFICATION_ON_UPDATE';
const TOKEN = 'gateway-token-for-tests';

interface GatewayRequest {
  method: string;
  path: string;
  authorization?: string;
  contentType?: string;
  json: Record<string, unknown>;
  status: number;
}

/** An SMS gateway on loopback: answers each number with the statuses planned for it, then 200. */
async function startGateway() {
  const requests: GatewayRequest[] = [];
  const plan = new Map<string, number[]>();
  let sent = 0;
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      const json = JSON.parse(text) as Record<string, unknown>;
      const status = plan.get(String(json.to))?.shift() ?? 200;
      requests.push({
        method: req.method!,
        path: req.url!,
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        json,
        status,
      });
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(status === 200 ? { messageId: `gw-${(sent += 1)}` } : { error: 'no' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    plan,
    to: (number: string) => requests.filter((r) => r.json.to === number),
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

let h: Harness;
let moto: Moto;
let gateway: Awaited<ReturnType<typeof startGateway>>;

beforeAll(async () => {
  for (const [name, value] of Object.entries(MOTO_ENV)) vi.stubEnv(name, value);
  [moto, gateway] = await Promise.all([startMoto(), startGateway()]);
  h = await startHarness({
    policy: { smsProvider: 'aws-sns', resendCooldown: 0 },
    env: {
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_SNS: moto.url,
      SMS_SENDER_ID: 'MobVerify',
      SMS_HTTP_URL: `${gateway.url}/sms`,
      SMS_HTTP_TOKEN: TOKEN,
      SMS_HTTP_TIMEOUT_MS: '2000',
    },
  });
});
afterAll(async () => {
  await h?.stop();
  await moto?.stop();
  await gateway?.close();
  vi.unstubAllEnvs();
});

/** A user whose new mobile `mobile` is pending, in a fresh org using `provider`. */
async function pendingChange(mobile: string, provider: 'aws-sns' | 'http' = 'aws-sns') {
  const org = freshOrg('sms');
  const admin = await h.token(org, 'admin', ADMIN_SCOPES);
  if (provider !== 'aws-sns') {
    const policy = await h.call('PATCH', `/t/${org}/api/server/v1/mobile-verification/policy`, {
      token: admin,
      body: { smsProvider: provider },
    });
    expect(policy.status).toBe(200);
  }
  const created = await h.call('POST', `/t/${org}/scim2/Users`, {
    token: admin,
    body: { userName: 'dana', phoneNumbers: [{ type: 'mobile', value: '0111111111' }] },
  });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  const patched = await h.call('PATCH', `/t/${org}/scim2/Users/${id}`, {
    token: admin,
    body: {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: mobile }],
    },
  });
  expect(patched.status).toBe(200);
  const self = await h.token(org, id, 'internal_login');
  const handle = h.client.workflow.getHandle(verificationWorkflowId(org, id, SCENARIO));
  return {
    org,
    id,
    handle,
    status: async () => (await handle.query(state)).status,
    validate: (code: string) =>
      h.call('POST', `/t/${org}/api/identity/user/v1.0/me/validate-code`, {
        token: self,
        body: { code, properties: [] },
      }),
    resend: () =>
      h.call('POST', `/t/${org}/api/identity/user/v1.0/me/resend-code`, { token: self, body: { properties: [] } }),
    get: () => h.call('GET', `/t/${org}/scim2/Users/${id}`, { token: admin }),
    /** issueCode activity attempts for this user, from the worker's log lines. */
    sendAttempts: () =>
      h.logs
        .map((l) => JSON.parse(l))
        .filter((l) => l.activity === 'issueCode' && l.userId === id)
        .map((l) => l.outcome as string),
  };
}

const codeIn = (text: string) => {
  const code = text.match(/code is ([0-9A-Z]+)/)?.[1];
  if (!code) throw new Error('no code in the SMS');
  return code;
};

/** The SMS moto's SNS took for `number`, oldest first. */
const snsTo = async (number: string) => (await moto.sms()).filter((m) => m.phoneNumber === number);

describe('aws-sns against moto', () => {
  it('a whole flow: the code sent through SNS verifies the number and commits it', async () => {
    const mobile = '+15550100001';
    const c = await pendingChange(mobile);
    const [sms] = await eventually(async () => {
      const got = await snsTo(mobile);
      expect(got).toHaveLength(1);
      return got;
    });
    expect(sms!.message).toBe(`Your ${c.org} verification code is ${codeIn(sms!.message)}. It expires in 5 minutes.`);
    expect((await c.validate(codeIn(sms!.message))).status).toBe(200);
    expect((await c.handle.result()).status).toBe('verified');
    expect((await c.get()).body.phoneNumbers).toEqual([{ type: 'mobile', value: mobile }]);
  });

  it('SNS down: retried, then send_failed; once SNS is back a resend delivers and verifies', async () => {
    const mobile = '+15550100002';
    await moto.stop();
    let c: Awaited<ReturnType<typeof pendingChange>>;
    try {
      c = await pendingChange(mobile);
      await eventually(async () => expect(await c.status()).toBe('send_failed'), 20_000);
    } finally {
      await moto.start();
    }
    expect(c.sendAttempts()).toEqual(['error', 'error', 'error', 'error']);
    expect(await snsTo(mobile)).toEqual([]);

    const resent = await c.resend();
    expect(resent.status).toBe(201);
    const sms = await snsTo(mobile);
    expect(sms).toHaveLength(1);
    expect(await c.status()).toBe('code_sent');
    expect((await c.validate(codeIn(sms[0]!.message))).status).toBe(200);
  });

  it('a number SNS refuses (not E.164) fails at once, and resend answers 400 MV-40010', async () => {
    const mobile = '0123400009';
    const c = await pendingChange(mobile);
    await eventually(async () => expect(await c.status()).toBe('send_failed'));
    expect(c.sendAttempts()).toEqual(['error']);
    const resent = await c.resend();
    expect(resent.status).toBe(400);
    expect(resent.body.code).toBe('MV-40010');
    expect(c.sendAttempts()).toEqual(['error', 'error']);
    expect(await snsTo(mobile)).toEqual([]);
  });
});

describe('http gateway', () => {
  it('posts the SMS as JSON with the bearer token; its code verifies the number', async () => {
    const mobile = '0123400101';
    const c = await pendingChange(mobile, 'http');
    const [request] = await eventually(() => {
      const got = gateway.to(mobile);
      expect(got).toHaveLength(1);
      return got;
    });
    expect(request).toMatchObject({
      method: 'POST',
      path: '/sms',
      authorization: `Bearer ${TOKEN}`,
      contentType: 'application/json',
    });
    expect(request!.json).toEqual({
      to: mobile,
      body: expect.stringMatching(/code is [0-9]{6}\./),
      org: c.org,
      scenario: SCENARIO,
      userId: c.id,
    });
    expect((await c.validate(codeIn(request!.json.body as string))).status).toBe(200);
    expect((await c.get()).body.phoneNumbers).toEqual([{ type: 'mobile', value: mobile }]);
  });

  it('a 500 is retried: the next attempt delivers, once', async () => {
    const mobile = '0123400102';
    gateway.plan.set(mobile, [500]);
    const c = await pendingChange(mobile, 'http');
    // The activity's retry comes after its backoff; a loaded machine may take a while.
    await eventually(() => expect(gateway.to(mobile).map((r) => r.status)).toEqual([500, 200]), 40_000);
    await eventually(() => expect(c.sendAttempts()).toEqual(['error', 'sent']));
    const delivered = gateway.to(mobile)[1]!;
    expect((await c.validate(codeIn(delivered.json.body as string))).status).toBe(200);
    expect(gateway.to(mobile)).toHaveLength(2);
  });

  it('a 400 is a permanent refusal: no retries, and resend answers 400 MV-40010', async () => {
    const mobile = '0123400103';
    gateway.plan.set(mobile, [400, 400]);
    const c = await pendingChange(mobile, 'http');
    await eventually(async () => expect(await c.status()).toBe('send_failed'));
    expect(gateway.to(mobile)).toHaveLength(1);
    const resent = await c.resend();
    expect(resent.status).toBe(400);
    expect(resent.body.code).toBe('MV-40010');
    expect(gateway.to(mobile).map((r) => r.status)).toEqual([400, 400]);
  });
});
