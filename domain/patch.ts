import { ScimError, invalidPath, invalidSyntax, invalidValue } from './errors';
import { Filter, equalityTerms, matchesFilter } from './filter';
import { parse } from 'scim2-parse-filter';
import { indexOfNumber, uniqueNumbers } from './numbers';
import { UserDoc, coerceValue, containerOf, isMobileEntry, isObject, resolveTopLevel } from './resource';
import { AttrDef, CORE_USER_SCHEMA, PATCH_OP, SchemaDef, findAttr, splitUrnPath } from './schema';

type OpName = 'add' | 'replace' | 'remove';

/** A parsed PATCH path: `[urn:]attr[filter][.sub]`, or a whole extension when `attr` is absent. */
export interface PatchPath {
  schema: SchemaDef;
  attr?: AttrDef;
  filter?: Filter;
  sub?: AttrDef;
}

export interface PatchResult {
  doc: UserDoc;
  /** Top-level attributes an operation addressed, as `schemaId:name`: the rules need to know. */
  touched: Set<string>;
}

const NAME = /^[A-Za-z$][\w$-]*$/;

export const touchKey = (schema: SchemaDef, attr: AttrDef) => `${schema.id}:${attr.name}`;

export function parsePath(raw: string): PatchPath {
  let schema: SchemaDef = CORE_USER_SCHEMA;
  let rest = raw.trim();
  if (/^urn:/i.test(rest)) {
    const split = splitUrnPath(rest);
    if (!split) throw invalidPath(`Unknown schema in path "${raw}"`);
    schema = split.schema;
    rest = split.rest;
    if (rest === '') return { schema };
  }
  let filter: Filter | undefined;
  let subName: string | undefined;
  const open = rest.indexOf('[');
  let attrName = rest;
  if (open >= 0) {
    const close = rest.lastIndexOf(']');
    if (close < open) throw invalidPath(`Unbalanced "[" in path "${raw}"`);
    attrName = rest.slice(0, open);
    filter = parseValueFilter(rest.slice(open + 1, close), raw);
    const after = rest.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith('.')) throw invalidPath(`Unexpected "${after}" in path "${raw}"`);
      subName = after.slice(1);
    }
  } else if (rest.includes('.')) {
    [attrName, subName] = rest.split('.', 2) as [string, string];
    if (rest.split('.').length > 2) throw invalidPath(`Path "${raw}" is nested too deep`);
  }
  if (!NAME.test(attrName) || (subName !== undefined && !NAME.test(subName))) {
    throw invalidPath(`Path "${raw}" is malformed`);
  }
  if (schema === CORE_USER_SCHEMA && ['id', 'meta', 'schemas'].includes(attrName.toLowerCase())) {
    throw new ScimError(400, 'mutability', `"${raw}" is set by the server and cannot be changed`);
  }
  const found = resolveTopLevel(attrName, schema);
  if (!found) throw invalidPath(`Unknown attribute "${attrName}" in path "${raw}"`);
  const attr = found.attr;
  if (filter && !(attr.multiValued && attr.type === 'complex')) {
    throw invalidPath(`"${attr.name}" is not a multi-valued complex attribute; it takes no filter`);
  }
  let sub: AttrDef | undefined;
  if (subName !== undefined) {
    sub = findAttr(attr.subAttributes ?? [], subName);
    if (!sub) throw invalidPath(`Unknown sub-attribute "${subName}" of "${attr.name}"`);
  }
  return { schema, attr, filter, sub };
}

function parseValueFilter(text: string, raw: string): Filter {
  try {
    return parse(text);
  } catch {
    throw invalidPath(`The value filter in path "${raw}" does not parse`);
  }
}

/**
 * Applies a SCIM PatchOp (RFC 7644 §3.5.2) to a copy of `current`. All or nothing: the first
 * bad operation throws and the caller keeps the original. Op names are case-insensitive.
 */
export function applyPatch(current: UserDoc, body: unknown): PatchResult {
  if (!isObject(body)) throw invalidSyntax('The body must be a PatchOp object');
  const schemas = body.schemas;
  if (schemas !== undefined && !(Array.isArray(schemas) && schemas.includes(PATCH_OP))) {
    throw invalidSyntax(`schemas must contain "${PATCH_OP}"`);
  }
  const operations = body.Operations ?? body.operations;
  if (!Array.isArray(operations) || operations.length === 0) {
    throw invalidSyntax('Operations must be a non-empty array');
  }
  if (operations.length > 100) throw new ScimError(400, 'tooMany', 'At most 100 operations per PATCH');
  const doc = structuredClone(current);
  const touched = new Set<string>();
  operations.forEach((operation, index) => applyOperation(doc, operation, index, touched));
  dropValuelessEntries(doc);
  return { doc, touched };
}

/**
 * A phone number or email whose `value` was removed or set to null is no value at all: the
 * entry goes (so `remove phoneNumbers[type eq "mobile"].value` removes the primary mobile).
 */
function dropValuelessEntries(doc: UserDoc) {
  for (const attr of CORE_USER_SCHEMA.attributes) {
    const list = doc[attr.name];
    if (!attr.multiValued || !Array.isArray(list) || !findAttr(attr.subAttributes ?? [], 'value')) continue;
    const kept = list.filter((item) => !isObject(item) || (item.value !== undefined && item.value !== null));
    if (kept.length > 0) doc[attr.name] = kept;
    else delete doc[attr.name];
  }
}

function applyOperation(doc: UserDoc, operation: unknown, index: number, touched: Set<string>) {
  if (!isObject(operation)) throw invalidSyntax(`Operations[${index}] must be an object`);
  const op = typeof operation.op === 'string' ? operation.op.toLowerCase() : undefined;
  if (op !== 'add' && op !== 'replace' && op !== 'remove') {
    throw invalidSyntax(`Operations[${index}].op must be add, replace or remove`);
  }
  const { path, value } = operation;
  if (path !== undefined && typeof path !== 'string') throw invalidPath(`Operations[${index}].path must be a string`);
  if (path === undefined || path.trim() === '') {
    if (op === 'remove') throw new ScimError(400, 'noTarget', `Operations[${index}]: remove needs a path`);
    if (!isObject(value)) throw invalidValue(`Operations[${index}].value must be an object when there is no path`);
    applyValueObject(doc, op, value, CORE_USER_SCHEMA, touched);
    return;
  }
  const parsed = parsePath(path);
  if (!parsed.attr) {
    if (op === 'remove') throw new ScimError(400, 'mutability', `A whole schema extension cannot be removed`);
    if (!isObject(value)) throw invalidValue(`Operations[${index}].value must be an object for path "${path}"`);
    applyValueObject(doc, op, value, parsed.schema, touched);
    return;
  }
  if (parsed.attr.mutability === 'readOnly' || parsed.sub?.mutability === 'readOnly') {
    throw new ScimError(400, 'mutability', `"${path}" is readOnly`);
  }
  if (op !== 'remove' && value === undefined) throw invalidValue(`Operations[${index}] needs a value`);
  touched.add(touchKey(parsed.schema, parsed.attr));
  applyAt(doc, op, parsed, value, path);
}

/**
 * A `value` object without a path: keys are attribute names, dotted names (`name.givenName`),
 * URN-qualified names, or extension URNs holding their own attributes. readOnly attributes
 * that clients echo back are skipped.
 */
function applyValueObject(
  doc: UserDoc,
  op: OpName,
  value: Record<string, unknown>,
  schema: SchemaDef,
  touched: Set<string>,
) {
  for (const [key, item] of Object.entries(value)) {
    // Clients echo the server's own attributes back, also inside extension objects.
    if (key === 'schemas' || (schema === CORE_USER_SCHEMA && (key === 'id' || key === 'meta'))) continue;
    const path = /^urn:/i.test(key) ? key : schema === CORE_USER_SCHEMA ? key : `${schema.id}:${key}`;
    const parsed = parsePath(path);
    if (!parsed.attr) {
      if (!isObject(item)) throw invalidValue(`${parsed.schema.id} must be an object`);
      applyValueObject(doc, op, item, parsed.schema, touched);
      continue;
    }
    if (parsed.attr.mutability === 'readOnly' || parsed.sub?.mutability === 'readOnly') continue;
    touched.add(touchKey(parsed.schema, parsed.attr));
    applyAt(doc, op, parsed, item, path);
  }
}

function applyAt(doc: UserDoc, op: OpName, target: PatchPath, value: unknown, path: string) {
  const attr = target.attr!;
  const container = containerOf(doc, target.schema, op !== 'remove');
  if (!container) return;
  if (target.filter) return applyFiltered(container, op, attr, target.filter, target.sub, value, path);
  if (target.sub) return applySub(container, op, attr, target.sub, value, path);
  if (op === 'remove') return removeWhole(container, attr, value, path);

  const coerced = coerceValue(attr, value, attr.name);
  const existing = container[attr.name];
  if (coerced === undefined) {
    delete container[attr.name];
  } else if (attr.numberList) {
    const list = coerced as string[];
    container[attr.name] = op === 'add' && Array.isArray(existing) ? uniqueNumbers([...existing, ...list]) : list;
  } else if (attr.multiValued) {
    container[attr.name] =
      op === 'add' && Array.isArray(existing) ? mergeValues(attr, existing, coerced as unknown[]) : coerced;
    enforceSinglePrimary(container[attr.name] as unknown[], coerced as unknown[]);
  } else if (attr.type === 'complex' && isObject(existing)) {
    container[attr.name] = { ...existing, ...(coerced as object) };
  } else {
    container[attr.name] = coerced;
  }
}

/**
 * `add` to a multi-valued attribute appends, skipping values already there. The primary mobile
 * is one claim, so a new `mobile` phone number takes the place of the old one.
 */
function mergeValues(attr: AttrDef, existing: unknown[], added: unknown[]): unknown[] {
  const out = [...existing];
  for (const item of added) {
    if (attr.name === 'phoneNumbers' && isMobileEntry(item)) {
      const at = out.findIndex(isMobileEntry);
      if (at >= 0) {
        out[at] = { ...(out[at] as object), ...item };
        continue;
      }
    }
    if (!out.some((e) => sameValue(e, item))) out.push(item);
  }
  return out;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (isObject(a) && isObject(b)) {
    const type = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v);
    return a.value === b.value && type(a.type) === type(b.type);
  }
  return a === b;
}

/** RFC 7643 §2.4: at most one value is primary; a newly set primary wins. */
function enforceSinglePrimary(list: unknown[], added: unknown[]) {
  const winner = added.find((item) => isObject(item) && item.primary === true);
  if (!winner) return;
  for (const item of list) {
    if (isObject(item) && item !== winner && item.primary === true && !sameValue(item, winner)) item.primary = false;
  }
}

function removeWhole(container: Record<string, unknown>, attr: AttrDef, value: unknown, path: string) {
  const existing = container[attr.name];
  if (value === undefined) {
    delete container[attr.name];
    return;
  }
  // A remove with a value takes those values out of a multi-valued attribute (a common dialect).
  if (attr.numberList) {
    const gone = coerceValue(attr, value, path) as string[];
    const kept = (Array.isArray(existing) ? (existing as string[]) : []).filter((n) => indexOfNumber(gone, n) < 0);
    container[attr.name] = kept;
  } else if (attr.multiValued && Array.isArray(existing)) {
    const gone = coerceValue(attr, value, path) as unknown[];
    container[attr.name] = existing.filter(
      (e) =>
        !gone.some(
          (g) => sameValue(e, g) || (isObject(g) && isObject(e) && g.value === e.value && g.type === undefined),
        ),
    );
  } else {
    delete container[attr.name];
  }
  if (Array.isArray(container[attr.name]) && (container[attr.name] as unknown[]).length === 0)
    delete container[attr.name];
}

function applySub(
  container: Record<string, unknown>,
  op: OpName,
  attr: AttrDef,
  sub: AttrDef,
  value: unknown,
  path: string,
) {
  const existing = container[attr.name];
  const targets: Record<string, unknown>[] = attr.multiValued
    ? Array.isArray(existing)
      ? existing.filter(isObject)
      : []
    : isObject(existing)
      ? [existing]
      : [];
  if (targets.length === 0) {
    if (op === 'remove') return;
    if (attr.multiValued) throw new ScimError(400, 'noTarget', `"${path}" matches no value`);
    const created: Record<string, unknown> = {};
    container[attr.name] = created;
    targets.push(created);
  }
  for (const target of targets) setSub(target, op, attr, sub, value, path);
}

function applyFiltered(
  container: Record<string, unknown>,
  op: OpName,
  attr: AttrDef,
  filter: Filter,
  sub: AttrDef | undefined,
  value: unknown,
  path: string,
) {
  const list = Array.isArray(container[attr.name]) ? (container[attr.name] as unknown[]) : [];
  const subAttributes = attr.subAttributes ?? [];
  const matched = list.filter((item) => isObject(item) && matchesFilter(filter, item, subAttributes)) as Record<
    string,
    unknown
  >[];
  if (op === 'remove') {
    if (sub) matched.forEach((item) => delete item[sub.name]);
    else container[attr.name] = list.filter((item) => !matched.includes(item as Record<string, unknown>));
    if ((container[attr.name] as unknown[]).length === 0) delete container[attr.name];
    return;
  }
  if (matched.length === 0) {
    // `add` to a filter that pins the value down (`type eq "mobile"`) creates that value, as
    // provisioning clients expect; `replace` of nothing is RFC 7644's noTarget.
    const terms = op === 'add' ? equalityTerms(filter, subAttributes) : undefined;
    if (!terms) throw new ScimError(400, 'noTarget', `"${path}" matches no value`);
    // The terms are checked with the value they get below, not alone (a mobile needs its number).
    const item: Record<string, unknown> = { ...terms };
    container[attr.name] = [...list, item];
    matched.push(item);
  }
  for (const item of matched) {
    if (sub) {
      setSub(item, op, attr, sub, value, path);
      continue;
    }
    const replacement = (coerceValue(attr, value, path) as Record<string, unknown>[])[0];
    if (!replacement) throw invalidValue(`"${path}" needs a value object`);
    const fresh = op === 'add' ? { ...item, ...replacement } : replacement;
    Object.keys(item).forEach((k) => delete item[k]);
    Object.assign(item, fresh);
  }
  if (attr.name === 'phoneNumbers' && (container[attr.name] as unknown[]).filter(isMobileEntry).length > 1) {
    throw invalidValue('phoneNumbers may hold one entry of type "mobile"');
  }
}

function setSub(
  target: Record<string, unknown>,
  op: OpName,
  attr: AttrDef,
  sub: AttrDef,
  value: unknown,
  path: string,
) {
  if (op === 'remove') {
    delete target[sub.name];
    return;
  }
  const probe = coerceValue({ ...attr, multiValued: false }, { ...target, [sub.name]: value }, attr.name) as Record<
    string,
    unknown
  >;
  // Coercing the whole item re-checks rules that span sub-attributes (a mobile's number).
  target[sub.name] = probe[sub.name];
}
