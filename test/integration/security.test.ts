import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../api/app';
import { PendingChangeRow, AuditEventRow, UserRow } from '../../db';
import { PATCH_OP } from '../../domain/schema';
import { Harness, eventually, startHarness } from '../support/harness';

/**
 * Production authentication (JWKS) against a key set served on loopback, and every route of the
 * route table with every kind of bad token: each answers 401 or 403 and changes nothing.
 */
const ISSUER = 'https://idp.test/oauth2/token';
const AUDIENCE = 'mobile-verify';
const ORG = 'bifrost';
const ALL_SCOPES = [...new Set(ROUTES.flatMap((r) => (r.scope ? [r.scope] : [])))].join(' ');

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let h: Harness;
let jwksServer: Server;
let served: { keys: object[] } = { keys: [] };
let key1: KeyPair;
let key2: KeyPair;
let userId: string;
let stranger: KeyPair | undefined;

async function sign(
  key: KeyPair,
  kid: string,
  claims: Record<string, unknown>,
  opts: { exp?: number; nbf?: number; iss?: string; aud?: string } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ org_name: ORG, scope: ALL_SCOPES, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? now + 600);
  if (opts.nbf) jwt.setNotBefore(opts.nbf);
  return jwt.sign(key.privateKey);
}

beforeAll(async () => {
  key1 = await generateKeyPair('RS256', { extractable: true });
  key2 = await generateKeyPair('RS256', { extractable: true });
  served = { keys: [{ ...(await exportJWK(key1.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] };
  jwksServer = createServer((_req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(served));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const { port } = jwksServer.address() as AddressInfo;
  h = await startHarness({
    env: {
      AUTH_MODE: 'jwks',
      AUTH_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_COOLDOWN: '0',
    },
  });
  const admin = await sign(key1, 'k1', { sub: 'admin' });
  const created = await h.call('POST', `/t/${ORG}/scim2/Users`, {
    token: admin,
    body: { userName: 'victim', phoneNumbers: [{ type: 'mobile', value: '0111111111' }] },
  });
  expect(created.status).toBe(201);
  userId = created.body.id;
  await h.call('PATCH', `/t/${ORG}/scim2/Users/${userId}`, {
    token: admin,
    body: {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '0123456782' }],
    },
  });
  await eventually(() => h.codeFor('0123456782', userId));
});

afterAll(async () => {
  await h?.stop();
  jwksServer?.close();
});

async function snapshot() {
  const user = await UserRow.findByPk(userId);
  const pending = await PendingChangeRow.findAll({ where: { userId } });
  const audits = await AuditEventRow.count({ where: { userId } });
  return JSON.stringify({
    user: user?.toJSON(),
    pending: pending.map((p) => p.toJSON()),
    audits,
    sms: h.outbox().length,
  });
}

function bodyFor(method: string, path: string) {
  if (method === 'get' || method === 'delete') return undefined;
  if (path.endsWith('validate-code')) return { code: '000000', properties: [] };
  if (path.endsWith('resend-code')) return { properties: [] };
  if (path.endsWith('/policy')) return { enabled: false };
  if (method === 'patch')
    return {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '0199999999' }],
    };
  return { userName: 'intruder', phoneNumbers: [{ type: 'mobile', value: '0199999999' }] };
}

const protectedRoutes = ROUTES.filter((r) => r.scope && !r.openInDev);

describe('JWKS authentication', () => {
  it('accepts a valid token', async () => {
    const token = await sign(key1, 'k1', { sub: userId, scope: 'internal_login' });
    expect((await h.call('GET', `/t/${ORG}/scim2/Me`, { token })).status).toBe(200);
  });

  it('follows a key rotation at the provider without a restart', async () => {
    served = { keys: [...served.keys, { ...(await exportJWK(key2.publicKey)), kid: 'k2', alg: 'RS256', use: 'sig' }] };
    const token = await sign(key2, 'k2', { sub: userId, scope: 'internal_login' });
    expect((await h.call('GET', `/t/${ORG}/scim2/Me`, { token })).status).toBe(200);
  });

  it('tolerates a little clock skew', async () => {
    const token = await sign(
      key1,
      'k1',
      { sub: userId, scope: 'internal_login' },
      { exp: Math.floor(Date.now() / 1000) - 10 },
    );
    expect((await h.call('GET', `/t/${ORG}/scim2/Me`, { token })).status).toBe(200);
  });
});

describe('every protected route refuses bad tokens and changes nothing', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const variants: [string, number, () => Promise<string | undefined>][] = [
    ['no token', 401, async () => undefined],
    ['a malformed token', 401, async () => 'not.a.jwt'],
    [
      'alg none',
      401,
      async () => {
        const payload = Buffer.from(
          JSON.stringify({
            sub: 'admin',
            org_name: ORG,
            scope: ALL_SCOPES,
            iss: ISSUER,
            aud: AUDIENCE,
            exp: now() + 600,
          }),
        ).toString('base64url');
        return `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;
      },
    ],
    [
      'a token signed with another key under a known kid',
      401,
      async () => sign((stranger ??= await generateKeyPair('RS256')), 'k1', { sub: 'admin' }),
    ],
    [
      'HS256 with the public key as the secret',
      401,
      async () => {
        const pem = await exportSPKI(key1.publicKey);
        return new SignJWT({ sub: 'admin', org_name: ORG, scope: ALL_SCOPES })
          .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setExpirationTime(now() + 600)
          .sign(new TextEncoder().encode(pem));
      },
    ],
    ['an expired token', 401, async () => sign(key1, 'k1', { sub: 'admin' }, { exp: now() - 3600 })],
    [
      'a token not valid yet',
      401,
      async () => sign(key1, 'k1', { sub: 'admin' }, { nbf: now() + 3600, exp: now() + 7200 }),
    ],
    ['another issuer', 401, async () => sign(key1, 'k1', { sub: 'admin' }, { iss: 'https://evil.test' })],
    ['another audience', 401, async () => sign(key1, 'k1', { sub: 'admin' }, { aud: 'someone-else' })],
    ['a token of another org', 403, async () => sign(key1, 'k1', { sub: 'admin', org_name: 'other-org' })],
    ['a token without the scope', 403, async () => sign(key1, 'k1', { sub: 'admin', scope: 'openid' })],
  ];

  it.each(variants)('%s', async (_name, status, make) => {
    const before = await snapshot();
    for (const route of protectedRoutes) {
      const path = `/t/${ORG}${route.path.replace(':id', userId).replace(':userId', userId)}`;
      const r = await h.call(route.method.toUpperCase(), path, {
        token: await make(),
        body: bodyFor(route.method, route.path),
      });
      expect(r.status, `${route.method.toUpperCase()} ${route.path}`).toBe(status);
      if (status === 401) expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    expect(await snapshot()).toBe(before);
  });

  it("another user's token on /Me and me/* acts on that user only", async () => {
    const before = await snapshot();
    const other = await sign(key1, 'k1', { sub: 'someone-else', scope: 'internal_login' });
    for (const route of protectedRoutes.filter((r) => r.scope === 'internal_login')) {
      const r = await h.call(route.method.toUpperCase(), `/t/${ORG}${route.path}`, {
        token: other,
        body: bodyFor(route.method, route.path),
      });
      expect([400, 404]).toContain(r.status);
    }
    expect(await snapshot()).toBe(before);
  });
});
