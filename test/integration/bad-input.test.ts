import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_SCHEMA, PATCH_OP } from '../../domain/schema';
import { ADMIN_SCOPES, Harness, Reply, freshOrg, startHarness } from '../support/harness';

let h: Harness;
let org: string;
let admin: string;
let userId: string;
let self: string;

beforeAll(async () => {
  h = await startHarness();
  org = freshOrg();
  admin = await h.token(org, 'admin', ADMIN_SCOPES);
  const created = await h.call('POST', `/t/${org}/scim2/Users`, {
    token: admin,
    body: { userName: 'erin', phoneNumbers: [{ type: 'mobile', value: '0111111111' }] },
  });
  userId = created.body.id;
  self = await h.token(org, userId, 'internal_login');
});
afterAll(async () => {
  await h?.stop();
});

function expectScimError(r: Reply, status: number, scimType?: string) {
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/application\/scim\+json/);
  expect(r.body.schemas).toEqual([ERROR_SCHEMA]);
  expect(r.body.status).toBe(String(status));
  if (scimType) expect(r.body.scimType).toBe(scimType);
  else expect(r.body.scimType).toBeUndefined();
  expect(typeof r.body.detail).toBe('string');
}

const user = () => h.call('GET', `/t/${org}/scim2/Users/${userId}`, { token: admin });
const patchOf = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

describe('bad input on SCIM routes: a precise 4xx and nothing applied', () => {
  const cases: [string, () => Promise<Reply>, number, string | undefined][] = [
    [
      'invalid JSON',
      () => h.call('PATCH', `/t/${org}/scim2/Users/${userId}`, { token: admin, raw: '{"schemas": [' }),
      400,
      'invalidSyntax',
    ],
    [
      'an empty body',
      () => h.call('PATCH', `/t/${org}/scim2/Users/${userId}`, { token: admin, raw: '' }),
      400,
      'invalidSyntax',
    ],
    [
      'a JSON array instead of a PatchOp',
      () => h.call('PATCH', `/t/${org}/scim2/Users/${userId}`, { token: admin, body: [] }),
      400,
      'invalidSyntax',
    ],
    [
      'an unknown attribute path',
      () =>
        h.call('PATCH', `/t/${org}/scim2/Users/${userId}`, {
          token: admin,
          body: patchOf({ op: 'replace', path: 'shoeSize', value: 1 }),
        }),
      400,
      'invalidPath',
    ],
    [
      'a wrong type',
      () =>
        h.call('PATCH', `/t/${org}/scim2/Users/${userId}`, {
          token: admin,
          body: patchOf({ op: 'replace', path: 'active', value: 'maybe' }),
        }),
      400,
      'invalidValue',
    ],
    [
      'a bad number',
      () =>
        h.call('PATCH', `/t/${org}/scim2/Users/${userId}`, {
          token: admin,
          body: patchOf({ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '12ab' }),
        }),
      400,
      'invalidValue',
    ],
    [
      'unicode digits in a number',
      () =>
        h.call('PATCH', `/t/${org}/scim2/Users/${userId}`, {
          token: admin,
          body: patchOf({ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '٠١٢٣٤٥٦٧٨٩' }),
        }),
      400,
      'invalidValue',
    ],
    [
      'a remove without path',
      () => h.call('PATCH', `/t/${org}/scim2/Users/${userId}`, { token: admin, body: patchOf({ op: 'remove' }) }),
      400,
      'noTarget',
    ],
    [
      'a readOnly path',
      () =>
        h.call('PATCH', `/t/${org}/scim2/Users/${userId}`, {
          token: admin,
          body: patchOf({
            op: 'replace',
            path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:pendingMobileNumber',
            value: '0123456789',
          }),
        }),
      400,
      'mutability',
    ],
    [
      'a good op followed by a bad one',
      () =>
        h.call('PATCH', `/t/${org}/scim2/Users/${userId}`, {
          token: admin,
          body: patchOf(
            { op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '0123456789' },
            { op: 'replace', path: 'nope', value: 1 },
          ),
        }),
      400,
      'invalidPath',
    ],
    [
      'a PUT without userName',
      () =>
        h.call('PUT', `/t/${org}/scim2/Users/${userId}`, {
          token: admin,
          body: { phoneNumbers: [{ type: 'mobile', value: '0123456789' }] },
        }),
      400,
      'invalidValue',
    ],
    [
      'a body over the limit',
      () =>
        h.call('PATCH', `/t/${org}/scim2/Users/${userId}`, {
          token: admin,
          raw: JSON.stringify(patchOf({ op: 'replace', path: 'displayName', value: 'x'.repeat(300_000) })),
        }),
      413,
      undefined,
    ],
    [
      'another media type',
      () =>
        h.call('PATCH', `/t/${org}/scim2/Users/${userId}`, {
          token: admin,
          raw: 'a=b',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        }),
      415,
      undefined,
    ],
    [
      'a stale If-Match',
      () =>
        h.call('PATCH', `/t/${org}/scim2/Users/${userId}`, {
          token: admin,
          body: patchOf({ op: 'replace', path: 'displayName', value: 'E' }),
          headers: { 'If-Match': 'W/"999"' },
        }),
      412,
      undefined,
    ],
    [
      'an unknown user',
      () =>
        h.call('PATCH', `/t/${org}/scim2/Users/not-a-user`, {
          token: admin,
          body: patchOf({ op: 'replace', path: 'displayName', value: 'E' }),
        }),
      404,
      undefined,
    ],
    [
      'a NUL character',
      () =>
        h.call('PATCH', `/t/${org}/scim2/Users/${userId}`, {
          token: admin,
          body: patchOf({ op: 'replace', path: 'displayName', value: 'nul\u0000byte' }),
        }),
      400,
      'invalidValue',
    ],
    [
      'an unpaired surrogate',
      () =>
        h.call('PATCH', `/t/${org}/scim2/Users/${userId}`, {
          token: admin,
          raw: '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"\\ud800"}]}',
        }),
      400,
      'invalidValue',
    ],
    [
      'a key given twice',
      () =>
        h.call('PATCH', `/t/${org}/scim2/Users/${userId}`, {
          token: admin,
          raw: '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","op":"replace","path":"displayName","value":"A"}]}',
        }),
      400,
      'invalidSyntax',
    ],
    [
      'a number list longer than 50',
      () =>
        h.call('PATCH', `/t/${org}/scim2/Users/${userId}`, {
          token: admin,
          body: patchOf({
            op: 'add',
            path: 'urn:scim:wso2:schema:mobileNumbers',
            value: Array.from({ length: 20_000 }, (_, i) => `07${String(i).padStart(8, '0')}`).join(','),
          }),
        }),
      400,
      'invalidValue',
    ],
    [
      'a method the route does not have',
      () => h.call('DELETE', `/t/${org}/scim2/Me`, { token: admin }),
      405,
      undefined,
    ],
  ];

  it.each(cases)('%s', async (_name, send, status, scimType) => {
    const before = (await user()).body;
    expectScimError(await send(), status, scimType);
    expect((await user()).body).toEqual(before);
    expect(h.outbox().filter((m) => m.userId === userId)).toHaveLength(0);
  });

  it('a taken userName is 409 uniqueness, case-insensitively', async () => {
    const r = await h.call('POST', `/t/${org}/scim2/Users`, { token: admin, body: { userName: 'ERIN' } });
    expectScimError(r, 409, 'uniqueness');
  });

  it("an unknown route is a 404 in the route family's error shape", async () => {
    expectScimError(await h.call('GET', `/t/${org}/scim2/Nope`, { token: admin }), 404);
  });
});

describe('authentication and authorization', () => {
  const patch = patchOf({ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '0123456789' });

  it('no token: 401 with WWW-Authenticate', async () => {
    const r = await h.call('PATCH', `/t/${org}/scim2/Users/${userId}`, { body: patch });
    expectScimError(r, 401);
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('a token signed with another key: 401', async () => {
    const forged = admin.slice(0, admin.lastIndexOf('.') + 1) + 'A'.repeat(43);
    expectScimError(await h.call('PATCH', `/t/${org}/scim2/Users/${userId}`, { token: forged, body: patch }), 401);
  });

  it('alg none: 401', async () => {
    const [, payload] = admin.split('.');
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
    expectScimError(await h.call('PATCH', `/t/${org}/scim2/Users/${userId}`, { token: none, body: patch }), 401);
  });

  it("another org's token: 403, and the user is not visible", async () => {
    const other = await h.token(freshOrg(), 'admin', ADMIN_SCOPES);
    expectScimError(await h.call('PATCH', `/t/${org}/scim2/Users/${userId}`, { token: other, body: patch }), 403);
    expectScimError(await h.call('GET', `/t/${org}/scim2/Users/${userId}`, { token: other }), 403);
  });

  it('the same user id under another org is not found', async () => {
    const otherOrg = freshOrg();
    const other = await h.token(otherOrg, 'admin', ADMIN_SCOPES);
    expectScimError(await h.call('GET', `/t/${otherOrg}/scim2/Users/${userId}`, { token: other }), 404);
  });

  it('a token without the scope: 403', async () => {
    const viewer = await h.token(org, 'admin', 'internal_user_mgt_view');
    expectScimError(await h.call('PATCH', `/t/${org}/scim2/Users/${userId}`, { token: viewer, body: patch }), 403);
  });

  it('/Me acts on the token subject only', async () => {
    const me = await h.call('GET', `/t/${org}/scim2/Me`, { token: self });
    expect(me.body.id).toBe(userId);
    const stranger = await h.token(org, 'someone-else', 'internal_login');
    expectScimError(await h.call('GET', `/t/${org}/scim2/Me`, { token: stranger }), 404);
  });

  it('nothing was applied by any refused request', async () => {
    const u = (await user()).body;
    expect(u.phoneNumbers).toEqual([{ type: 'mobile', value: '0111111111' }]);
    expect(u.meta.version).toBe('W/"1"');
  });
});

describe('bad input on the identity API', () => {
  const cases: [string, unknown, string][] = [
    ['no code', { properties: [] }, 'UAR-10000'],
    ['a code that is not a string', { code: 123456 }, 'UAR-10000'],
    ['properties that are not a list', { code: '123456', properties: 'x' }, 'UAR-10000'],
    ['an unknown scenario', { code: '123456', properties: [{ key: 'RecoveryScenario', value: 'NOPE' }] }, 'UAR-10011'],
  ];

  it.each(cases)('validate-code with %s', async (_name, body, code) => {
    const r = await h.call('POST', `/t/${org}/api/identity/user/v1.0/me/validate-code`, { token: self, body });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe(code);
    expect(r.body.traceId).toBe(r.headers.get('x-trace-id'));
  });

  it('validate-code with a key given twice', async () => {
    const r = await h.call('POST', `/t/${org}/api/identity/user/v1.0/me/validate-code`, {
      token: self,
      raw: '{"code":"123456","code":"654321"}',
    });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('UAR-10000');
  });

  it('validate-code with invalid JSON', async () => {
    const r = await h.call('POST', `/t/${org}/api/identity/user/v1.0/me/validate-code`, { token: self, raw: '{' });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('UAR-10000');
  });

  it('resend-code without a token: 401 in the identity error shape', async () => {
    const r = await h.call('POST', `/t/${org}/api/identity/user/v1.0/me/resend-code`, { body: { properties: [] } });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: 'UAR-10401', message: 'Unauthorized' });
  });
});
