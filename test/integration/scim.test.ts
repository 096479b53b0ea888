import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserRow } from '../../db';
import { verificationWorkflowId } from '../../domain/scenarios';
import { ENTERPRISE_USER, LIST_RESPONSE, PATCH_OP, WSO2_USER } from '../../domain/schema';
import { ADMIN_SCOPES, Harness, eventually, freshOrg, startHarness } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { PUBLIC_BASE_URL: 'https://id.example.test/' } });
});
afterAll(async () => {
  await h?.stop();
});

async function orgWithAdmin() {
  const org = freshOrg('scim');
  const admin = await h.token(org, 'admin', ADMIN_SCOPES);
  const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    h.call(method, `/t/${org}/scim2${path}`, { token: admin, body, headers });
  const create = async (userName: string, extra: Record<string, unknown> = {}) => {
    const r = await call('POST', '/Users', {
      userName,
      phoneNumbers: [{ type: 'mobile', value: '0111111111' }],
      ...extra,
    });
    expect(r.status).toBe(201);
    return r.body as Record<string, any>;
  };
  return { org, admin, call, create };
}

const patchOf = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

describe('dialects real clients send', () => {
  it('"op": "Replace" and "op": "Add", capitalised', async () => {
    const o = await orgWithAdmin();
    const u = await o.create('alice');
    const r = await o.call(
      'PATCH',
      `/Users/${u.id}`,
      patchOf({ op: 'Replace', path: 'displayName', value: 'Alice' }, { op: 'Add', path: 'title', value: 'Engineer' }),
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ displayName: 'Alice', title: 'Engineer' });
  });

  it('add with path urn:scim:wso2:schema:verifiedMobileNumbers starts a verification', async () => {
    const o = await orgWithAdmin();
    const u = await o.create('alice');
    const r = await o.call(
      'PATCH',
      `/Users/${u.id}`,
      patchOf({ op: 'add', path: `${WSO2_USER}:verifiedMobileNumbers`, value: '0123456789' }),
    );
    expect(r.status).toBe(200);
    expect(r.body[ENTERPRISE_USER]).toEqual({ pendingMobileNumber: '0123456789' });
  });

  it('a PUT carrying id, meta, groups and pendingMobileNumber: ignored, not rejected', async () => {
    const o = await orgWithAdmin();
    const u = await o.create('alice');
    const r = await o.call('PUT', `/Users/${u.id}`, {
      ...u,
      id: 'someone-else',
      meta: { version: 'W/"77"' },
      groups: [{ value: 'admins' }],
      displayName: 'Alice',
      [ENTERPRISE_USER]: { pendingMobileNumber: '0199999999' },
    });
    expect(r.status).toBe(200);
    expect(r.body.id).toBe(u.id);
    expect(r.body.groups).toBeUndefined();
    expect(r.body[ENTERPRISE_USER]).toBeUndefined();
    expect(r.body.displayName).toBe('Alice');
  });

  it('"active": "False" as a string', async () => {
    const o = await orgWithAdmin();
    const u = await o.create('alice', { active: true });
    const r = await o.call('PATCH', `/Users/${u.id}`, patchOf({ op: 'replace', value: { active: 'False' } }));
    expect(r.body.active).toBe(false);
  });

  it('a value object with a dotted key', async () => {
    const o = await orgWithAdmin();
    const u = await o.create('alice', { name: { givenName: 'Alice', familyName: 'Liddell' } });
    const r = await o.call(
      'PATCH',
      `/Users/${u.id}`,
      patchOf({ op: 'replace', value: { 'name.givenName': 'Robert' } }),
    );
    expect(r.body.name).toEqual({ givenName: 'Robert', familyName: 'Liddell' });
  });

  it('a password sent along is accepted and never stored', async () => {
    const o = await orgWithAdmin();
    const u = await o.create('pat', { password: 'S3cret-Passw0rd!' });
    expect(u.password).toBeUndefined();
    await o.call('PATCH', `/Users/${u.id}`, patchOf({ op: 'replace', path: 'password', value: 'An0ther!' }));
    const row = await UserRow.findByPk(u.id);
    expect(JSON.stringify(row!.doc)).not.toMatch(/S3cret|An0ther/);
  });

  it('links use PUBLIC_BASE_URL, not the Host header', async () => {
    const o = await orgWithAdmin();
    const u = await o.create('hal');
    const r = await h.call('GET', `/t/${o.org}/scim2/Users/${u.id}`, {
      token: o.admin,
      headers: { Host: 'evil.example' },
    });
    expect(r.body.meta.location).toBe(`https://id.example.test/t/${o.org}/scim2/Users/${u.id}`);
  });

  it('a full PUT that repeats the current user changes nothing and sends no SMS', async () => {
    const o = await orgWithAdmin();
    const u = await o.create('alice', {
      [WSO2_USER]: { mobileNumbers: '0111111111', verifiedMobileNumbers: '0111111111' },
    });
    const r = await o.call('PUT', `/Users/${u.id}`, u);
    expect(r.status).toBe(200);
    expect(r.body).toEqual(u);
    expect(h.outbox().filter((m) => m.userId === u.id)).toHaveLength(0);
  });
});

describe('GET /Users', () => {
  it('filters with spaces in the value, and pages', async () => {
    const o = await orgWithAdmin();
    await o.create('bob smith');
    await o.create('bob jones', { emails: [{ value: 'bj@example.com', type: 'work' }] });
    await o.create('carol', { phoneNumbers: [{ type: 'mobile', value: '0199999999' }] });

    const bySpace = await o.call('GET', `/Users?filter=${encodeURIComponent('userName eq "bob smith"')}`);
    expect(bySpace.status).toBe(200);
    expect(bySpace.body.schemas).toEqual([LIST_RESPONSE]);
    expect(bySpace.body.Resources.map((u: { userName: string }) => u.userName)).toEqual(['bob smith']);

    const q = async (filter: string) =>
      (await o.call('GET', `/Users?filter=${encodeURIComponent(filter)}`)).body.Resources.map(
        (u: { userName: string }) => u.userName,
      );
    expect(await q('userName sw "BOB"')).toEqual(['bob smith', 'bob jones']);
    expect(await q('emails[type eq "work" and value co "bj@"]')).toEqual(['bob jones']);
    expect(await q('phoneNumbers.value eq "0199999999"')).toEqual(['carol']);
    expect(await q('emails pr')).toEqual(['bob jones']);
    expect(await q('userName eq "carol" or userName eq "bob smith"')).toEqual(['bob smith', 'carol']);
    expect(await q('meta.lastModified gt "2000-01-01T00:00:00Z"')).toHaveLength(3);

    const page = await o.call('GET', '/Users?startIndex=2&count=1');
    expect(page.body).toMatchObject({ totalResults: 3, startIndex: 2, itemsPerPage: 1 });
    expect(page.body.Resources[0].userName).toBe('bob jones');
    const none = await o.call('GET', '/Users?count=0');
    expect(none.body).toMatchObject({ totalResults: 3, itemsPerPage: 0, Resources: [] });
  });

  it('attributes and excludedAttributes', async () => {
    const o = await orgWithAdmin();
    const u = await o.create('dora', { name: { givenName: 'Dora', familyName: 'Explorer' } });
    const only = await o.call('GET', `/Users/${u.id}?attributes=name.givenName`);
    expect(Object.keys(only.body).sort()).toEqual(['id', 'meta', 'name', 'schemas']);
    expect(only.body.name).toEqual({ givenName: 'Dora' });
    const without = await o.call('GET', `/Users?excludedAttributes=phoneNumbers,${WSO2_USER}`);
    expect(without.body.Resources[0].phoneNumbers).toBeUndefined();
    expect(without.body.Resources[0][WSO2_USER]).toBeUndefined();
    expect(without.body.Resources[0].userName).toBe('dora');
  });

  it('URN-qualified value filters, and phone numbers compared by number identity', async () => {
    const o = await orgWithAdmin();
    const u = await o.create('nia', { phoneNumbers: [{ type: 'mobile', value: '0199999999' }] });
    await o.create('other', { phoneNumbers: [{ type: 'work', value: '0188888888' }] });
    await o.call(
      'PATCH',
      `/Users/${u.id}`,
      patchOf({ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '0177777776' }),
    );
    const q = async (filter: string) =>
      (await o.call('GET', `/Users?filter=${encodeURIComponent(filter)}`)).body.Resources.map(
        (r: { userName: string }) => r.userName,
      );
    expect(await q('urn:ietf:params:scim:schemas:core:2.0:User:phoneNumbers[type eq "mobile"]')).toEqual(['nia']);
    expect(await q('phoneNumbers.value eq "019-999 9999"')).toEqual(['nia']);
    expect(await q('phoneNumbers[value eq "(018) 888-8888"]')).toEqual(['other']);
    expect(await q(`${WSO2_USER}:pendingMobileNumbers[scenario eq "MOBILE_VERIFICATION_ON_UPDATE"]`)).toEqual(['nia']);
    expect(await q(`${ENTERPRISE_USER}:pendingMobileNumber eq "017 777 7776"`)).toEqual(['nia']);
  });

  it.each([
    ['unknownAttr eq "x"'],
    ['1 eq 1'],
    ['emails[value pr and phoneNumbers[value pr]]'],
    ['name[givenName eq "x"]'],
    ['meta.nope pr'],
  ])('a filter naming no attribute of a User is 400 invalidFilter: %s', async (filter) => {
    const o = await orgWithAdmin();
    const r = await o.call('GET', `/Users?filter=${encodeURIComponent(filter)}`);
    expect(r.status).toBe(400);
    expect(r.body.scimType).toBe('invalidFilter');
  });

  it('a filter that does not parse is 400 invalidFilter', async () => {
    const o = await orgWithAdmin();
    const r = await o.call('GET', `/Users?filter=${encodeURIComponent('userName eq')}`);
    expect(r.status).toBe(400);
    expect(r.body.scimType).toBe('invalidFilter');
  });

  it("never shows another org's users", async () => {
    const a = await orgWithAdmin();
    const b = await orgWithAdmin();
    await a.create('only-in-a');
    expect((await b.call('GET', '/Users')).body.totalResults).toBe(0);
  });
});

describe('DELETE, ETags and discovery', () => {
  it('DELETE removes the user and ends its running verification', async () => {
    const o = await orgWithAdmin();
    const u = await o.create('erin');
    await o.call(
      'PATCH',
      `/Users/${u.id}`,
      patchOf({ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '0123456780' }),
    );
    await eventually(() => h.codeFor('0123456780', u.id));
    expect((await o.call('DELETE', `/Users/${u.id}`)).status).toBe(204);
    expect((await o.call('GET', `/Users/${u.id}`)).status).toBe(404);
    expect((await o.call('DELETE', `/Users/${u.id}`)).status).toBe(404);
    const handle = h.client.workflow.getHandle(verificationWorkflowId(o.org, u.id, 'MOBILE_VERIFICATION_ON_UPDATE'));
    expect((await handle.result()).status).toBe('cancelled');
  });

  it('If-Match with the current version applies; a stale one is 412', async () => {
    const o = await orgWithAdmin();
    const u = await o.create('fay');
    expect(u.meta.version).toBe('W/"1"');
    const ok = await o.call('PATCH', `/Users/${u.id}`, patchOf({ op: 'replace', path: 'displayName', value: 'Fay' }), {
      'If-Match': 'W/"1"',
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe('W/"2"');
    const stale = await o.call('PATCH', `/Users/${u.id}`, patchOf({ op: 'replace', path: 'displayName', value: 'F' }), {
      'If-Match': 'W/"1"',
    });
    expect(stale.status).toBe(412);
  });

  it('starting a pending change is a new version: If-Match with the old one is 412', async () => {
    const o = await orgWithAdmin();
    const u = await o.create('ivy');
    const held = await o.call(
      'PATCH',
      `/Users/${u.id}`,
      patchOf({ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '0123456786' }),
      { 'If-Match': 'W/"1"' },
    );
    expect(held.status).toBe(200);
    expect(held.body.meta.version).toBe('W/"2"');
    const stale = await o.call(
      'PATCH',
      `/Users/${u.id}`,
      patchOf({ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '0123456787' }),
      { 'If-Match': 'W/"1"' },
    );
    expect(stale.status).toBe(412);
    expect((await o.call('DELETE', `/Users/${u.id}`, undefined, { 'If-Match': 'W/"1"' })).status).toBe(412);
    expect((await o.call('DELETE', `/Users/${u.id}`, undefined, { 'If-Match': 'W/"7", W/"2"' })).status).toBe(204);
  });

  it('id, schemas and meta are returned whatever excludedAttributes says', async () => {
    const o = await orgWithAdmin();
    const u = await o.create('jay');
    const r = await o.call(
      'GET',
      `/Users/${u.id}?excludedAttributes=ID,SCHEMAS,Meta,urn:ietf:params:scim:schemas:core:2.0:User:id,userName`,
    );
    expect(r.body).toMatchObject({ id: u.id, schemas: u.schemas, meta: u.meta });
    expect(r.body.userName).toBeUndefined();
  });

  it('a PATCH of id or meta is 400 mutability', async () => {
    const o = await orgWithAdmin();
    const u = await o.create('kim');
    for (const path of ['id', 'meta.created', 'META']) {
      const r = await o.call('PATCH', `/Users/${u.id}`, patchOf({ op: 'replace', path, value: 'x' }));
      expect(r.status).toBe(400);
      expect(r.body.scimType).toBe('mutability');
    }
  });

  it('repeated adds cannot grow a user past the caps', async () => {
    const o = await orgWithAdmin();
    const u = await o.create('lou');
    const emails = (from: number) => Array.from({ length: 60 }, (_, i) => ({ value: `u${from + i}@example.com` }));
    expect(
      (await o.call('PATCH', `/Users/${u.id}`, patchOf({ op: 'add', path: 'emails', value: emails(0) }))).status,
    ).toBe(200);
    const r = await o.call('PATCH', `/Users/${u.id}`, patchOf({ op: 'add', path: 'emails', value: emails(60) }));
    expect(r.status).toBe(400);
    expect(r.body.detail).toMatch(/at most 100/);
  });

  it('discovery describes the two extensions and the readOnly attributes', async () => {
    const spc = await h.call('GET', '/scim2/ServiceProviderConfig');
    expect(spc.status).toBe(200);
    expect(spc.body).toMatchObject({
      patch: { supported: true },
      filter: { supported: true },
      etag: { supported: true },
      bulk: { supported: false },
      sort: { supported: false },
    });
    const types = await h.call('GET', '/scim2/ResourceTypes');
    expect(types.body.Resources[0].schemaExtensions.map((e: { schema: string }) => e.schema)).toEqual([
      ENTERPRISE_USER,
      WSO2_USER,
    ]);
    const schemas = await h.call('GET', '/scim2/Schemas');
    expect(schemas.body.totalResults).toBe(3);
    const wso2 = await h.call('GET', `/scim2/Schemas/${WSO2_USER}`);
    const attr = (name: string) => wso2.body.attributes.find((a: { name: string }) => a.name === name);
    expect(attr('phoneVerified').mutability).toBe('readOnly');
    expect(attr('verifyMobile').mutability).toBe('writeOnly');
    const enterprise = await h.call('GET', `/scim2/Schemas/${ENTERPRISE_USER}`);
    expect(enterprise.body.attributes.find((a: { name: string }) => a.name === 'pendingMobileNumber').mutability).toBe(
      'readOnly',
    );
    expect((await h.call('GET', '/scim2/Schemas/urn:nope')).status).toBe(404);
  });
});
