import { invalidPath, invalidValue } from './errors';
import { normalizeNumber, requireNumber, uniqueNumbers } from './numbers';
import {
  AttrDef,
  COMMON_READ_ONLY,
  CORE_USER_SCHEMA,
  EXTENSION_IDS,
  SchemaDef,
  WSO2_USER,
  findAttr,
  findSchema,
} from './schema';

/**
 * A user as the engine sees it: canonical attribute names, typed values, extensions under their
 * schema URN, number lists as arrays. No id, meta or readOnly attribute: those are the server's.
 */
export type UserDoc = Record<string, unknown>;
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A user's number lists stay short: the rules compare them pairwise. */
export const MAX_NUMBERS = 50;
/** Multi-valued attributes (emails, phoneNumbers, ...) hold at most this many values. */
export const MAX_VALUES = 100;
/** A whole user, as JSON. */
export const MAX_USER_BYTES = 64 * 1024;

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The readOnly attributes clients echo back (RFC 7644 §3.5.1: ignored on PUT, not rejected). */
function isIgnoredOnInput(attr: AttrDef): boolean {
  return attr.mutability === 'readOnly';
}

/**
 * Turns a client's JSON into a typed, canonical value of `attr`. Boolean strings ("True") are
 * accepted, numbers are checked, unknown sub-attributes are refused with the path that names them.
 */
export function coerceValue(attr: AttrDef, value: unknown, where: string): unknown {
  if (value === null) return undefined;
  if (attr.numberList) return coerceNumberList(value, where);
  if (attr.multiValued) {
    const items = Array.isArray(value) ? value : [value];
    if (items.length > MAX_VALUES) throw invalidValue(`${where} may hold at most ${MAX_VALUES} values`);
    return items.map((item, i) => coerceSingle(attr, item, `${where}[${i}]`)).filter((v) => v !== undefined);
  }
  return coerceSingle(attr, value, where);
}

function coerceSingle(attr: AttrDef, value: unknown, where: string): unknown {
  switch (attr.type) {
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
      throw invalidValue(`${where} must be a boolean`);
    case 'integer':
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      throw invalidValue(`${where} must be an integer`);
    case 'complex':
      // Some identity providers send multi-valued attributes as bare strings (the reference's
      // `"emails": ["bob@example.com"]`): read them as `{ value }`.
      if (typeof value === 'string' && attr.multiValued && findAttr(attr.subAttributes ?? [], 'value')) {
        return coerceComplex(attr, { value }, where);
      }
      if (!isObject(value)) throw invalidValue(`${where} must be an object`);
      return coerceComplex(attr, value, where);
    default:
      if (typeof value !== 'string') throw invalidValue(`${where} must be a string`);
      if (value.length > 2048) throw invalidValue(`${where} is longer than 2048 characters`);
      return value;
  }
}

function coerceComplex(attr: AttrDef, value: Record<string, unknown>, where: string) {
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(value)) {
    const sub = findAttr(attr.subAttributes ?? [], key);
    if (!sub) throw invalidValue(`${where}: unknown sub-attribute "${key}"`);
    // null unassigns (RFC 7644 §3.5.2): the sub-attribute is left out.
    if (isIgnoredOnInput(sub) || raw === null) continue;
    out[sub.name] = coerceSingle(sub, raw, `${where}.${sub.name}`);
  }
  if (attr.name === 'phoneNumbers' && isMobileEntry(out) && out.value !== undefined) {
    requireNumber(out.value, `${where}.value`);
  }
  return out;
}

/** `"a,b"` or `["a","b"]` to a list of distinct, plausible numbers as written. */
export function coerceNumberList(value: unknown, where: string): string[] {
  const parts =
    typeof value === 'string'
      ? value.split(',')
      : Array.isArray(value) && value.every((v) => typeof v === 'string')
        ? (value as string[])
        : undefined;
  if (!parts) throw invalidValue(`${where} must be a comma-separated string or an array of strings`);
  const numbers = parts.map((p) => p.trim()).filter((p) => p !== '');
  if (numbers.length > MAX_NUMBERS) throw invalidValue(`${where} may hold at most ${MAX_NUMBERS} numbers`);
  numbers.forEach((n) => requireNumber(n, where));
  return uniqueNumbers(numbers);
}

export function isMobileEntry(entry: unknown): entry is { value?: string; type: string } {
  return isObject(entry) && typeof entry.type === 'string' && entry.type.toLowerCase() === 'mobile';
}

/** Resolves a top-level name to its schema and attribute; core names need no URN. */
export function resolveTopLevel(name: string, schema?: SchemaDef): { schema: SchemaDef; attr: AttrDef } | undefined {
  const target = schema ?? CORE_USER_SCHEMA;
  const attr = findAttr(target.attributes, name);
  return attr ? { schema: target, attr } : undefined;
}

/** Where an attribute lives inside a {@link UserDoc}. */
export function containerOf(doc: UserDoc, schema: SchemaDef, create: boolean): Record<string, unknown> | undefined {
  if (schema.id === CORE_USER_SCHEMA.id) return doc;
  const existing = doc[schema.id];
  if (isObject(existing)) return existing;
  if (!create) return undefined;
  const fresh: Record<string, unknown> = {};
  doc[schema.id] = fresh;
  return fresh;
}

/**
 * Reads a full resource as sent by POST or PUT into a {@link UserDoc}. readOnly attributes and
 * the common ones (`id`, `meta`, `schemas`) are ignored; unknown attributes are refused.
 */
export function readResource(body: unknown): UserDoc {
  if (!isObject(body)) throw invalidValue('The request body must be a JSON object (a SCIM User)');
  const doc: UserDoc = {};
  for (const [key, value] of Object.entries(body)) {
    if (COMMON_READ_ONLY.includes(key) || key.toLowerCase() === 'schemas') continue;
    const extension = findSchema(key);
    if (extension && EXTENSION_IDS.includes(extension.id)) {
      if (value === null) continue;
      if (!isObject(value)) throw invalidValue(`${extension.id} must be an object`);
      for (const [subKey, subValue] of Object.entries(value)) {
        if (subKey === 'schemas') continue;
        writeTopLevel(doc, extension, subKey, subValue);
      }
      continue;
    }
    writeTopLevel(doc, CORE_USER_SCHEMA, key, value);
  }
  return doc;
}

function writeTopLevel(doc: UserDoc, schema: SchemaDef, key: string, value: unknown) {
  const found = resolveTopLevel(key, schema);
  if (!found) throw invalidPath(`Unknown attribute "${key}" in ${schema.id}`);
  if (isIgnoredOnInput(found.attr)) return;
  const coerced = coerceValue(found.attr, value, found.attr.name);
  if (coerced === undefined) return;
  containerOf(doc, schema, true)![found.attr.name] = coerced;
}

/** The primary mobile: the value of the `phoneNumbers` entry of type `mobile`. */
export function primaryMobileOf(doc: UserDoc): string | undefined {
  const entries = Array.isArray(doc.phoneNumbers) ? doc.phoneNumbers : [];
  const mobile = entries.find(isMobileEntry);
  return mobile && typeof mobile.value === 'string' ? mobile.value : undefined;
}

/** Checks the rules that hold across attributes once the whole request is applied. */
export function checkResource(doc: UserDoc): void {
  if (typeof doc.userName !== 'string' || doc.userName.trim() === '') {
    throw invalidValue('userName is required');
  }
  const entries = Array.isArray(doc.phoneNumbers) ? doc.phoneNumbers : [];
  const mobiles = entries.filter(isMobileEntry);
  if (mobiles.length > 1) throw invalidValue('phoneNumbers may hold one entry of type "mobile"');
  if (mobiles.length === 1 && normalizeNumber(String(mobiles[0].value ?? '')) === undefined) {
    throw invalidValue('phoneNumbers[type eq "mobile"] needs a valid value');
  }
  // Caps hold on the result, not only per request: repeated adds cannot grow a user unbounded.
  for (const [name, value] of Object.entries(doc)) {
    if (Array.isArray(value) && value.length > MAX_VALUES)
      throw invalidValue(`${name} may hold at most ${MAX_VALUES} values`);
  }
  const lists = isObject(doc[WSO2_USER]) ? (doc[WSO2_USER] as Record<string, unknown>) : {};
  for (const name of ['mobileNumbers', 'verifiedMobileNumbers']) {
    const list = lists[name];
    if (Array.isArray(list) && list.length > MAX_NUMBERS)
      throw invalidValue(`${name} may hold at most ${MAX_NUMBERS} numbers`);
  }
  if (JSON.stringify(doc).length > MAX_USER_BYTES)
    throw invalidValue(`A user may take at most ${MAX_USER_BYTES} bytes`);
  for (const attr of ['emails', 'phoneNumbers', 'addresses', 'ims', 'photos']) {
    const list = doc[attr];
    if (Array.isArray(list) && list.filter((e) => isObject(e) && e.primary === true).length > 1) {
      throw invalidValue(`${attr}: at most one value may be primary`);
    }
  }
}
