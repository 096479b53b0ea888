/**
 * The SCIM schemas this server implements: RFC 7643 core User, the enterprise extension, and
 * the `urn:scim:wso2:schema` extension of the reference. The PATCH/PUT engine, the response
 * shape and the discovery endpoints all read these tables, so they cannot drift apart.
 */

export type AttrType = 'string' | 'boolean' | 'complex' | 'dateTime' | 'reference' | 'integer' | 'binary';
export type Mutability = 'readOnly' | 'readWrite' | 'writeOnly' | 'immutable';

export interface AttrDef {
  name: string;
  type: AttrType;
  multiValued?: boolean;
  mutability?: Mutability;
  caseExact?: boolean;
  required?: boolean;
  returned?: 'always' | 'never' | 'default' | 'request';
  uniqueness?: 'none' | 'server' | 'global';
  /** On the wire a comma-separated string; internally a list of numbers. */
  numberList?: boolean;
  subAttributes?: AttrDef[];
  description: string;
}

export interface SchemaDef {
  id: string;
  name: string;
  description: string;
  attributes: AttrDef[];
}

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const WSO2_USER = 'urn:scim:wso2:schema';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

const str = (name: string, description: string, extra: Partial<AttrDef> = {}): AttrDef => ({
  name,
  type: 'string',
  description,
  ...extra,
});

/** The sub-attributes shared by the multi-valued attributes of RFC 7643 §2.4. */
const multiValuedParts = (valueDescription: string, types: string): AttrDef[] => [
  str('value', valueDescription),
  str('display', 'A human-readable name, primarily used for display purposes.'),
  str('type', `A label indicating the attribute's function, e.g. ${types}.`),
  { name: 'primary', type: 'boolean', description: 'Whether this is the preferred value.' },
];

const multiComplex = (name: string, description: string, subAttributes: AttrDef[]): AttrDef => ({
  name,
  type: 'complex',
  multiValued: true,
  description,
  subAttributes,
});

export const CORE_USER_SCHEMA: SchemaDef = {
  id: CORE_USER,
  name: 'User',
  description: 'User Account',
  attributes: [
    str('externalId', "The provisioning client's own identifier of the user.", { caseExact: true }),
    str('userName', 'Unique identifier for the User, case-insensitive within the organization.', {
      required: true,
      uniqueness: 'server',
    }),
    {
      name: 'name',
      type: 'complex',
      description: "The components of the user's real name.",
      subAttributes: [
        str('formatted', 'The full name, formatted for display.'),
        str('familyName', 'The family name.'),
        str('givenName', 'The given name.'),
        str('middleName', 'The middle name(s).'),
        str('honorificPrefix', 'The honorific prefix(es).'),
        str('honorificSuffix', 'The honorific suffix(es).'),
      ],
    },
    str('displayName', 'The name of the User, suitable for display.'),
    str('nickName', 'The casual way to address the user.'),
    { ...str('profileUrl', "A URI of the User's online profile."), type: 'reference' },
    str('title', "The user's title, such as 'Vice President'."),
    str('userType', 'The relationship between the organization and the user.'),
    str('preferredLanguage', "The User's preferred written or spoken language."),
    str('locale', "The User's default location for localizing output."),
    str('timezone', "The User's time zone in IANA format."),
    { name: 'active', type: 'boolean', description: "The User's administrative status." },
    str('password', 'Accepted and dropped: this service signs nobody in and stores no password.', {
      mutability: 'writeOnly',
      returned: 'never',
    }),
    multiComplex('emails', 'Email addresses for the user.', multiValuedParts('An email address.', 'work, home')),
    multiComplex(
      'phoneNumbers',
      'Phone numbers for the User. The entry of type "mobile" is the primary mobile: a change is held until verified.',
      multiValuedParts('A phone number.', 'mobile, work, home'),
    ),
    multiComplex('ims', 'Instant messaging addresses.', multiValuedParts('An IM address.', 'skype, xmpp')),
    multiComplex('photos', 'URLs of photos of the User.', multiValuedParts('A photo URL.', 'photo, thumbnail')),
    multiComplex('addresses', 'Physical mailing addresses.', [
      str('formatted', 'The full mailing address.'),
      str('streetAddress', 'The full street address.'),
      str('locality', 'The city or locality.'),
      str('region', 'The state or region.'),
      str('postalCode', 'The zip code or postal code.'),
      str('country', 'The country name (ISO 3166-1 alpha-2).'),
      str('type', 'work, home or other.'),
      { name: 'primary', type: 'boolean', description: 'Whether this is the preferred address.' },
    ]),
    {
      ...multiComplex('groups', 'Groups the user belongs to; managed through Groups, not here.', [
        str('value', 'The id of the group.', { mutability: 'readOnly' }),
        { ...str('$ref', 'The URI of the group.', { mutability: 'readOnly' }), type: 'reference' },
        str('display', 'The group name.', { mutability: 'readOnly' }),
        str('type', 'direct or indirect.', { mutability: 'readOnly' }),
      ]),
      mutability: 'readOnly',
    },
    multiComplex('entitlements', 'Entitlements of the user.', multiValuedParts('An entitlement.', 'any')),
    multiComplex('roles', 'Roles of the user.', multiValuedParts('A role.', 'any')),
    multiComplex('x509Certificates', 'Certificates of the user.', multiValuedParts('A certificate.', 'any')),
  ],
};

export const ENTERPRISE_USER_SCHEMA: SchemaDef = {
  id: ENTERPRISE_USER,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: [
    str('employeeNumber', 'A string identifier assigned by the organization.'),
    str('costCenter', 'Name of a cost center.'),
    str('organization', 'Name of an organization.'),
    str('division', 'Name of a division.'),
    str('department', 'Name of a department.'),
    {
      name: 'manager',
      type: 'complex',
      description: "The User's manager.",
      subAttributes: [
        str('value', 'The id of the manager.'),
        { ...str('$ref', 'The URI of the manager.'), type: 'reference' },
        str('displayName', 'The manager name.', { mutability: 'readOnly' }),
      ],
    },
    str(
      'pendingMobileNumber',
      'The primary mobile waiting for its SMS code (or, when only the verified list has a change pending, that number).',
      {
        mutability: 'readOnly',
      },
    ),
  ],
};

export const WSO2_USER_SCHEMA: SchemaDef = {
  id: WSO2_USER,
  name: 'WSO2User',
  description: 'Mobile numbers and their verification state',
  attributes: [
    str('mobileNumbers', 'All mobile numbers of the user, comma-separated.', { numberList: true }),
    str(
      'verifiedMobileNumbers',
      'Mobile numbers proven by an SMS code, comma-separated; a new entry is held until verified.',
      { numberList: true },
    ),
    {
      name: 'phoneVerified',
      type: 'boolean',
      mutability: 'readOnly',
      description: 'Whether the primary mobile is verified.',
    },
    {
      name: 'verifyMobile',
      type: 'boolean',
      mutability: 'writeOnly',
      returned: 'never',
      description:
        'true: verify the current unverified primary; false: an administrator commits without verification where policy allows.',
    },
    {
      name: 'pendingMobileNumbers',
      type: 'complex',
      multiValued: true,
      mutability: 'readOnly',
      description: 'Every number waiting for its SMS code.',
      subAttributes: [
        str('value', 'The pending number.', { mutability: 'readOnly' }),
        str('scenario', 'The verification scenario.', { mutability: 'readOnly' }),
        { ...str('expires', 'When the pending change ends.', { mutability: 'readOnly' }), type: 'dateTime' },
      ],
    },
  ],
};

export const USER_SCHEMAS: SchemaDef[] = [CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, WSO2_USER_SCHEMA];
export const EXTENSION_IDS = [ENTERPRISE_USER, WSO2_USER];

/** Attributes common to all resources (RFC 7643 §3.1), never writable by clients. */
export const COMMON_READ_ONLY = ['id', 'meta', 'schemas'];

export function findAttr(list: readonly AttrDef[], name: string): AttrDef | undefined {
  const lower = name.toLowerCase();
  return list.find((attr) => attr.name.toLowerCase() === lower);
}

/** The schema a URN names, matched case-insensitively. */
export function findSchema(urn: string): SchemaDef | undefined {
  const lower = urn.toLowerCase();
  return USER_SCHEMAS.find((schema) => schema.id.toLowerCase() === lower);
}

/**
 * Splits a URN-qualified attribute path into schema and rest. The longest schema URN wins, so
 * `urn:scim:wso2:schema:mobileNumbers` never resolves into a shorter URN that prefixes it.
 */
export function splitUrnPath(path: string): { schema: SchemaDef; rest: string } | undefined {
  const lower = path.toLowerCase();
  const candidates = USER_SCHEMAS.filter(
    (schema) => lower === schema.id.toLowerCase() || lower.startsWith(`${schema.id.toLowerCase()}:`),
  ).sort((a, b) => b.id.length - a.id.length);
  const schema = candidates[0];
  if (!schema) return undefined;
  return { schema, rest: path.slice(schema.id.length + 1) };
}
