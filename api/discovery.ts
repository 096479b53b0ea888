import { ScimError } from '../domain/errors';
import { AttrDef, CORE_USER, ENTERPRISE_USER, LIST_RESPONSE, USER_SCHEMAS, WSO2_USER } from '../domain/schema';

/**
 * The discovery documents of RFC 7643 §5-7, derived from the schema tables the engine uses, so
 * they describe exactly what is implemented.
 */
export const MAX_RESULTS = 200;

export function serviceProviderConfig(base: string) {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    documentationUri: 'https://datatracker.ietf.org/doc/html/rfc7644',
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: 'A JWT with sub, org_name and scope claims in the Authorization header.',
        specUri: 'https://datatracker.ietf.org/doc/html/rfc6750',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/scim2/ServiceProviderConfig` },
  };
}

export function userResourceType(base: string) {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
    id: 'User',
    name: 'User',
    endpoint: '/Users',
    description: 'User Account',
    schema: CORE_USER,
    schemaExtensions: [
      { schema: ENTERPRISE_USER, required: false },
      { schema: WSO2_USER, required: false },
    ],
    meta: { resourceType: 'ResourceType', location: `${base}/scim2/ResourceTypes/User` },
  };
}

function describeAttr(attr: AttrDef): Record<string, unknown> {
  return {
    name: attr.name,
    type: attr.type,
    multiValued: attr.multiValued ?? false,
    description: attr.description,
    required: attr.required ?? false,
    caseExact: attr.caseExact ?? false,
    mutability: attr.mutability ?? 'readWrite',
    returned: attr.returned ?? 'default',
    uniqueness: attr.uniqueness ?? 'none',
    ...(attr.type === 'reference' ? { referenceTypes: ['external'] } : {}),
    ...(attr.subAttributes ? { subAttributes: attr.subAttributes.map(describeAttr) } : {}),
  };
}

export function schemaDocs(base: string) {
  return USER_SCHEMAS.map((schema) => ({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
    id: schema.id,
    name: schema.name,
    description: schema.description,
    attributes: schema.attributes.map(describeAttr),
    meta: { resourceType: 'Schema', location: `${base}/scim2/Schemas/${schema.id}` },
  }));
}

export function schemaDoc(base: string, id: string) {
  const doc = schemaDocs(base).find((s) => s.id.toLowerCase() === id.toLowerCase());
  if (!doc) throw new ScimError(404, undefined, `No schema ${id}`);
  return doc;
}

export function listResponse<T>(resources: T[], totalResults: number, startIndex = 1) {
  return { schemas: [LIST_RESPONSE], totalResults, startIndex, itemsPerPage: resources.length, Resources: resources };
}
