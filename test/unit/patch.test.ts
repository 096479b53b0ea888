import { describe, expect, it } from 'vitest';
import { ScimError } from '../../domain/errors';
import { applyPatch } from '../../domain/patch';
import { UserDoc, readResource } from '../../domain/resource';
import { ENTERPRISE_USER, PATCH_OP, WSO2_USER } from '../../domain/schema';

const bob = (): UserDoc =>
  readResource({
    userName: 'bob123',
    name: { givenName: 'Bob', familyName: 'Smith' },
    emails: [{ value: 'bob@example.com', type: 'work', primary: true }],
    phoneNumbers: [
      { type: 'mobile', value: '0111111111' },
      { type: 'work', value: '0222222222' },
    ],
    [WSO2_USER]: { mobileNumbers: '0111111111', verifiedMobileNumbers: '0111111111' },
  });

const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

function scimError(fn: () => unknown): ScimError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ScimError) return error;
    throw error;
  }
  throw new Error('expected a ScimError');
}

describe('PATCH engine: the reference bodies', () => {
  it('replace without path, phoneNumbers of type mobile: only the mobile entry changes', () => {
    const { doc, touched } = applyPatch(
      bob(),
      patch({ op: 'replace', value: { phoneNumbers: [{ type: 'mobile', value: '0123456789' }] } }),
    );
    expect(doc.phoneNumbers).toEqual([{ type: 'mobile', value: '0123456789' }]);
    expect(touched.has('urn:ietf:params:scim:schemas:core:2.0:User:phoneNumbers')).toBe(true);
  });

  it('add without path replaces the mobile entry instead of adding a second one', () => {
    const { doc } = applyPatch(
      bob(),
      patch({ op: 'add', value: { phoneNumbers: [{ type: 'mobile', value: '0123456789' }] } }),
    );
    expect(doc.phoneNumbers).toEqual([
      { type: 'mobile', value: '0123456789' },
      { type: 'work', value: '0222222222' },
    ]);
  });

  it('verified list as a comma-separated string inside the extension URN', () => {
    const { doc } = applyPatch(
      bob(),
      patch({ op: 'replace', value: { [WSO2_USER]: { verifiedMobileNumbers: '0111111111,0123456789' } } }),
    );
    expect((doc[WSO2_USER] as Record<string, unknown>).verifiedMobileNumbers).toEqual(['0111111111', '0123456789']);
  });
});

describe('PATCH engine: paths', () => {
  const cases: [string, unknown, (doc: UserDoc) => unknown, unknown][] = [
    [
      'replace phoneNumbers[type eq "mobile"].value with a plain string',
      { op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '0123456789' },
      (d) => d.phoneNumbers,
      [
        { type: 'mobile', value: '0123456789' },
        { type: 'work', value: '0222222222' },
      ],
    ],
    [
      'op names in any case ("Replace")',
      { op: 'Replace', path: 'name.givenName', value: 'Robert' },
      (d) => d.name,
      { givenName: 'Robert', familyName: 'Smith' },
    ],
    [
      'attribute names in any case',
      { op: 'replace', path: 'NAME.GIVENNAME', value: 'Robert' },
      (d) => (d.name as Record<string, unknown>).givenName,
      'Robert',
    ],
    [
      'filter values compared case-insensitively ("Mobile")',
      { op: 'replace', path: 'phoneNumbers[type eq "Mobile"].value', value: '0123456789' },
      (d) => (d.phoneNumbers as { value: string }[])[0]!.value,
      '0123456789',
    ],
    [
      'add with a filter that matches nothing creates the value',
      { op: 'add', path: 'emails[type eq "home"].value', value: 'bob@home.example' },
      (d) => (d.emails as unknown[]).length,
      2,
    ],
    [
      'remove with a filter',
      { op: 'remove', path: 'phoneNumbers[type eq "work"]' },
      (d) => d.phoneNumbers,
      [{ type: 'mobile', value: '0111111111' }],
    ],
    [
      'remove of the mobile value removes the entry',
      { op: 'remove', path: 'phoneNumbers[type eq "mobile"].value' },
      (d) => d.phoneNumbers,
      [{ type: 'work', value: '0222222222' }],
    ],
    [
      'replace of the mobile value with null removes the entry',
      { op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: null },
      (d) => d.phoneNumbers,
      [{ type: 'work', value: '0222222222' }],
    ],
    [
      'remove of the primary mobile',
      { op: 'remove', path: 'phoneNumbers[type eq "mobile"]' },
      (d) => d.phoneNumbers,
      [{ type: 'work', value: '0222222222' }],
    ],
    [
      'add to the verified list by URN path',
      { op: 'add', path: 'urn:scim:wso2:schema:verifiedMobileNumbers', value: '0123456789' },
      (d) => (d[WSO2_USER] as Record<string, unknown>).verifiedMobileNumbers,
      ['0111111111', '0123456789'],
    ],
    [
      'URN-qualified core attribute',
      { op: 'replace', path: 'urn:ietf:params:scim:schemas:core:2.0:User:userName', value: 'bobby' },
      (d) => d.userName,
      'bobby',
    ],
    [
      'enterprise attribute by URN path',
      { op: 'add', path: `${ENTERPRISE_USER}:department`, value: 'Sales' },
      (d) => (d[ENTERPRISE_USER] as Record<string, unknown>).department,
      'Sales',
    ],
    ['boolean strings ("False")', { op: 'replace', value: { active: 'False' } }, (d) => d.active, false],
    [
      'a value object with a dotted key',
      { op: 'replace', value: { 'name.givenName': 'Robert' } },
      (d) => d.name,
      { givenName: 'Robert', familyName: 'Smith' },
    ],
    [
      'a new primary email takes primary from the old one',
      { op: 'add', path: 'emails', value: [{ value: 'new@example.com', type: 'home', primary: true }] },
      (d) => (d.emails as { primary?: boolean }[]).map((e) => e.primary),
      [false, true],
    ],
    [
      'readOnly attributes in a value object are ignored',
      { op: 'replace', value: { id: 'x', meta: {}, [ENTERPRISE_USER]: { pendingMobileNumber: '0999999999' } } },
      (d) => d[ENTERPRISE_USER],
      undefined,
    ],
  ];

  it.each(cases)('%s', (_name, operation, pick, expected) => {
    const { doc } = applyPatch(bob(), patch(operation));
    expect(pick(doc)).toEqual(expected);
  });
});

describe('PATCH engine: errors', () => {
  const cases: [string, unknown, number, string, RegExp][] = [
    ['remove without path', patch({ op: 'remove' }), 400, 'noTarget', /needs a path/],
    ['unknown attribute path', patch({ op: 'replace', path: 'shoeSize', value: 42 }), 400, 'invalidPath', /shoeSize/],
    [
      'unknown sub-attribute',
      patch({ op: 'replace', path: 'name.nickname', value: 'x' }),
      400,
      'invalidPath',
      /nickname/,
    ],
    [
      'filter that does not parse',
      patch({ op: 'replace', path: 'emails[type eq]', value: 'x' }),
      400,
      'invalidPath',
      /does not parse/,
    ],
    [
      'replace with a filter that matches nothing',
      patch({ op: 'replace', path: 'emails[type eq "home"].value', value: 'x' }),
      400,
      'noTarget',
      /matches no value/,
    ],
    [
      'readOnly path',
      patch({ op: 'replace', path: `${ENTERPRISE_USER}:pendingMobileNumber`, value: '0123456789' }),
      400,
      'mutability',
      /readOnly/,
    ],
    ['unknown op', patch({ op: 'move', path: 'userName', value: 'x' }), 400, 'invalidSyntax', /add, replace or remove/],
    ['no Operations', { schemas: [PATCH_OP] }, 400, 'invalidSyntax', /Operations/],
    ['wrong schemas', { schemas: ['urn:x'], Operations: [{ op: 'add', value: {} }] }, 400, 'invalidSyntax', /PatchOp/],
    [
      'a bad number',
      patch({ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: 'call me' }),
      400,
      'invalidValue',
      /not a phone number/,
    ],
    [
      'a number as a JSON number',
      patch({ op: 'replace', value: { phoneNumbers: [{ type: 'mobile', value: 123456789 }] } }),
      400,
      'invalidValue',
      /must be a string/,
    ],
    [
      'a bad number in the verified list',
      patch({ op: 'add', path: `${WSO2_USER}:verifiedMobileNumbers`, value: '0123456789,12' }),
      400,
      'invalidValue',
      /not a phone number/,
    ],
    ['a boolean that is not one', patch({ op: 'replace', value: { active: 'yes' } }), 400, 'invalidValue', /boolean/],
    [
      'a complex attribute given a string',
      patch({ op: 'replace', value: { name: 'Bob' } }),
      400,
      'invalidValue',
      /object/,
    ],
    [
      'an unknown schema URN',
      patch({ op: 'add', path: 'urn:example:thing:attr', value: 'x' }),
      400,
      'invalidPath',
      /Unknown schema/,
    ],
  ];

  it.each(cases)('%s', (_name, body, status, scimType, detail) => {
    const original = bob();
    const error = scimError(() => applyPatch(original, body));
    expect(error.status).toBe(status);
    expect(error.scimType).toBe(scimType);
    expect(error.detail).toMatch(detail);
    expect(original).toEqual(bob());
  });

  it('applies all operations or none', () => {
    const original = bob();
    expect(() =>
      applyPatch(original, patch({ op: 'replace', path: 'name.givenName', value: 'Robert' }, { op: 'remove' })),
    ).toThrow(ScimError);
    expect((original.name as Record<string, unknown>).givenName).toBe('Bob');
  });
});

describe('PUT bodies', () => {
  it('ignores id, meta, groups and pendingMobileNumber instead of refusing them', () => {
    const doc = readResource({
      id: 'abc',
      meta: { version: 'W/"3"' },
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'bob123',
      groups: [{ value: 'g1' }],
      [ENTERPRISE_USER]: { pendingMobileNumber: '0123456789', department: 'Sales' },
      [WSO2_USER]: { phoneVerified: true },
    });
    expect(doc).toEqual({ userName: 'bob123', [ENTERPRISE_USER]: { department: 'Sales' } });
  });

  it('reads bare-string emails as values, as the reference sends them', () => {
    expect(readResource({ userName: 'b', emails: ['b@example.com'] }).emails).toEqual([{ value: 'b@example.com' }]);
  });

  it('refuses unknown attributes with invalidPath', () => {
    expect(scimError(() => readResource({ userName: 'b', shoeSize: 42 })).scimType).toBe('invalidPath');
  });
});
