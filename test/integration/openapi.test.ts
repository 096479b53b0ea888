import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PATCH_OP } from '../../domain/schema';
import { ADMIN_SCOPES, Harness, Reply, eventually, freshOrg, startHarness } from '../support/harness';

let h: Harness;
let doc: any;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);

beforeAll(async () => {
  h = await startHarness({ policy: { resendCooldown: 0 } });
  doc = (await h.call('GET', '/openapi.json')).body;
  ajv.addSchema({ $id: 'openapi', components: doc.components });
});
afterAll(async () => {
  await h?.stop();
});

/** The response must be documented for its path, method and status, and match the schema. */
function conforms(path: string, method: string, reply: Reply) {
  const operation = doc.paths[path]?.[method];
  expect(operation, `${method} ${path} is documented`).toBeDefined();
  const documented = operation.responses[String(reply.status)];
  expect(documented, `${method} ${path} documents ${reply.status}`).toBeDefined();
  const schema = documented.content?.['application/json']?.schema;
  if (!schema) return;
  const validate = ajv.compile({ $ref: `openapi${schema.$ref}` });
  expect(validate(reply.body), JSON.stringify(validate.errors)).toBe(true);
}

describe('the OpenAPI document matches real responses', () => {
  it('is a 3.1 document for the identity, policy, audit, codec and operations routes', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/t/{org}/api/identity/user/v1.0/me/validate-code');
  });

  it('validate-code, resend-code, policy, audit, health and codec', async () => {
    const org = freshOrg();
    const admin = await h.token(org, 'admin', ADMIN_SCOPES);
    const id = (
      await h.call('POST', `/t/${org}/scim2/Users`, {
        token: admin,
        body: { userName: 'oa', phoneNumbers: [{ type: 'mobile', value: '0111111111' }] },
      })
    ).body.id;
    const self = await h.token(org, id, 'internal_login');
    const identity = (path: string, body: unknown) =>
      h.call('POST', `/t/${org}/api/identity/user/v1.0/me/${path}`, { token: self, body });

    conforms(
      '/t/{org}/api/identity/user/v1.0/me/validate-code',
      'post',
      await identity('validate-code', { code: '123456', properties: [] }),
    );
    conforms('/t/{org}/api/identity/user/v1.0/me/validate-code', 'post', await identity('validate-code', { nope: 1 }));
    conforms(
      '/t/{org}/api/identity/user/v1.0/me/validate-code',
      'post',
      await h.call('POST', `/t/${org}/api/identity/user/v1.0/me/validate-code`, { body: { code: '1' } }),
    );

    await h.call('PATCH', `/t/${org}/scim2/Users/${id}`, {
      token: admin,
      body: {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '0123456784' }],
      },
    });
    await eventually(() => h.codeFor('0123456784', id));
    conforms(
      '/t/{org}/api/identity/user/v1.0/me/resend-code',
      'post',
      await identity('resend-code', { properties: [] }),
    );
    const wrong = await identity('validate-code', { code: '00000000' });
    expect(wrong.body.code).toBe('18001');
    conforms('/t/{org}/api/identity/user/v1.0/me/validate-code', 'post', wrong);
    const ok = await identity('validate-code', {
      code: h.codeFor('0123456784', id),
      properties: [{ key: 'RecoveryScenario', value: 'MOBILE_VERIFICATION_ON_UPDATE' }],
    });
    expect(ok.status).toBe(200);
    conforms('/t/{org}/api/identity/user/v1.0/me/validate-code', 'post', ok);
    conforms(
      '/t/{org}/api/identity/user/v1.0/me/resend-code',
      'post',
      await identity('resend-code', { properties: [] }),
    );

    const policyPath = `/t/${org}/api/server/v1/mobile-verification/policy`;
    conforms(
      '/t/{org}/api/server/v1/mobile-verification/policy',
      'get',
      await h.call('GET', policyPath, { token: admin }),
    );
    conforms(
      '/t/{org}/api/server/v1/mobile-verification/policy',
      'patch',
      await h.call('PATCH', policyPath, { token: admin, body: { codeTtl: 120 } }),
    );
    conforms(
      '/t/{org}/api/server/v1/mobile-verification/policy',
      'patch',
      await h.call('PATCH', policyPath, { token: admin, body: { codeTtl: 'soon' } }),
    );
    conforms(
      '/t/{org}/api/server/v1/mobile-verification/audit/{userId}',
      'get',
      await h.call('GET', `/t/${org}/api/server/v1/mobile-verification/audit/${id}`, { token: admin }),
    );
    conforms('/health', 'get', await h.call('GET', '/health'));
    conforms('/codec/decode', 'post', await h.call('POST', '/codec/decode', { body: { payloads: [] } }));
  });
});
