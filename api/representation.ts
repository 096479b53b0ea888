import { listsOf } from '../domain/claims';
import { UserDoc, isObject } from '../domain/resource';
import { PRIMARY_UPDATE, VERIFIED_LIST_UPDATE } from '../domain/scenarios';
import { CORE_USER, ENTERPRISE_USER, WSO2_USER } from '../domain/schema';
import type { PendingChangeRow, UserRow } from '../db';

export const etagOf = (user: Pick<UserRow, 'version'>) => `W/"${user.version}"`;

export function locationOf(origin: string, org: string, userId: string): string {
  const prefix = org === 'carbon.super' ? '' : `/t/${encodeURIComponent(org)}`;
  return `${origin}${prefix}/scim2/Users/${userId}`;
}

/**
 * The user as SCIM clients see it: committed values, the number lists as comma-separated
 * strings (as in the reference), and the pending numbers beside them. Write-only attributes
 * (password, verifyMobile) never leave the server.
 */
export function toScim(user: UserRow, pending: PendingChangeRow[], location: string): Record<string, unknown> {
  const doc: UserDoc = structuredClone(user.doc);
  delete doc.password;
  const enterprise = isObject(doc[ENTERPRISE_USER]) ? (doc[ENTERPRISE_USER] as Record<string, unknown>) : {};
  const primaryPending =
    pending.find((p) => p.scenario === PRIMARY_UPDATE) ?? pending.find((p) => p.scenario === VERIFIED_LIST_UPDATE);
  if (primaryPending) enterprise.pendingMobileNumber = primaryPending.number;

  const lists = listsOf(doc);
  const wso2: Record<string, unknown> = {};
  if (lists.mobileNumbers.length > 0) wso2.mobileNumbers = lists.mobileNumbers.join(',');
  if (lists.verifiedMobileNumbers.length > 0) wso2.verifiedMobileNumbers = lists.verifiedMobileNumbers.join(',');
  wso2.phoneVerified = user.phoneVerified;
  if (pending.length > 0) {
    wso2.pendingMobileNumbers = pending.map((p) => ({
      value: p.number,
      scenario: p.scenario,
      expires: p.expiresAt.toISOString(),
    }));
  }
  delete doc[ENTERPRISE_USER];
  delete doc[WSO2_USER];

  return {
    schemas: [CORE_USER, ENTERPRISE_USER, WSO2_USER],
    id: user.id,
    ...doc,
    ...(Object.keys(enterprise).length > 0 ? { [ENTERPRISE_USER]: enterprise } : {}),
    [WSO2_USER]: wso2,
    meta: {
      resourceType: 'User',
      created: user.createdAt.toISOString(),
      lastModified: user.updatedAt.toISOString(),
      location,
      version: etagOf(user),
    },
  };
}
