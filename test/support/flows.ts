import { expect } from 'vitest';
import { PATCH_OP } from '../../domain/schema';
import { ADMIN_SCOPES, Harness, eventually, freshOrg } from './harness';

/**
 * A fresh user in a fresh org with mobile 0111111111 and a pending change to `mobile`, its
 * first code read from the outbox, and the calls a phone user makes.
 */
export async function userWithPendingChange(h: Harness, mobile: string) {
  const org = freshOrg();
  const admin = await h.token(org, 'admin', ADMIN_SCOPES);
  const created = await h.call('POST', `/t/${org}/scim2/Users`, {
    token: admin,
    body: { userName: 'carol', phoneNumbers: [{ type: 'mobile', value: '0111111111' }] },
  });
  const id = created.body.id as string;
  const patched = await h.call('PATCH', `/t/${org}/scim2/Users/${id}`, {
    token: admin,
    body: {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: mobile }],
    },
  });
  expect(patched.status).toBe(200);
  const code = await eventually(() => h.codeFor(mobile, id));
  const self = await h.token(org, id, 'internal_login');
  const identity = (path: string, body: unknown) =>
    h.call('POST', `/t/${org}/api/identity/user/v1.0/me/${path}`, { token: self, body });
  return {
    org,
    id,
    admin,
    self,
    code,
    validate: (c: string) => identity('validate-code', { code: c, properties: [] }),
    resend: () =>
      identity('resend-code', { properties: [{ key: 'RecoveryScenario', value: 'MOBILE_VERIFICATION_ON_UPDATE' }] }),
    get: () => h.call('GET', `/t/${org}/scim2/Users/${id}`, { token: admin }),
  };
}
