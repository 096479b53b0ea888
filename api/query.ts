import type { Filter } from 'scim2-parse-filter';
import { ScimError } from '../domain/errors';
import { compare, parseFilter } from '../domain/filter';
import { sameNumber } from '../domain/numbers';
import { isObject } from '../domain/resource';
import { AttrDef, USER_SCHEMAS, findAttr, splitUrnPath } from '../domain/schema';

/** Values at a filter's attribute path in a SCIM representation, multi-valued ones flattened. */
function valuesAt(resource: Record<string, unknown>, attrPath: string, items = false): unknown[] {
  let base: Record<string, unknown> = resource;
  let path = attrPath;
  if (/^urn:/i.test(path)) {
    const split = splitUrnPath(path);
    if (!split) throw new ScimError(400, 'invalidFilter', `Unknown schema in filter path "${attrPath}"`);
    if (split.schema.id !== USER_SCHEMAS[0]!.id) {
      const key = Object.keys(resource).find((k) => k.toLowerCase() === split.schema.id.toLowerCase());
      base = key && isObject(resource[key]) ? (resource[key] as Record<string, unknown>) : {};
    }
    path = split.rest;
  }
  let current: unknown[] = [base];
  for (const part of path.split('.')) {
    const next: unknown[] = [];
    for (const value of current) {
      if (!isObject(value)) continue;
      const key = Object.keys(value).find((k) => k.toLowerCase() === part.toLowerCase());
      const found = key === undefined ? undefined : value[key];
      if (Array.isArray(found)) next.push(...found);
      else if (found !== undefined) next.push(found);
    }
    current = next;
  }
  if (items) return current;
  // A multi-valued complex attribute without a sub-attribute compares its `value`s.
  return current.map((v) => (isObject(v) && 'value' in v ? v.value : v));
}

/** Number lists travel as comma-separated strings; a filter compares their entries. */
function expand(values: unknown[], attrPath: string): unknown[] {
  const last = attrPath.split(/[.:]/).at(-1)!.toLowerCase();
  if (last !== 'mobilenumbers' && last !== 'verifiedmobilenumbers') return values;
  return values.flatMap((v) => (typeof v === 'string' ? v.split(',') : [v]));
}

const NUMBER_ATTRIBUTES = ['mobilenumbers', 'verifiedmobilenumbers', 'pendingmobilenumber'];

/** Paths whose values are phone numbers (`phoneNumbers.value`, the number lists, ...). */
function isNumberPath(attrPath: string): boolean {
  const parts = attrPath.toLowerCase().split(/[.:]/);
  const last = parts.at(-1)!;
  if (NUMBER_ATTRIBUTES.includes(last)) return true;
  return last === 'value' && (parts.includes('phonenumbers') || parts.includes('pendingmobilenumbers'));
}

function caseExact(attrPath: string): boolean {
  const name = attrPath.split('.').at(-1)!;
  return name === 'id' || USER_SCHEMAS.some((s) => findAttr(s.attributes, name)?.caseExact === true);
}

/**
 * Evaluates a filter (RFC 7644 §3.4.2.2) against a user as clients see it; inside a value
 * filter, `parent` names the multi-valued attribute whose items are being tested.
 */
export function matchesUser(filter: Filter, user: Record<string, unknown>, parent?: string): boolean {
  switch (filter.op) {
    case 'and':
      return (filter as { filters: Filter[] }).filters.every((f) => matchesUser(f, user, parent));
    case 'or':
      return (filter as { filters: Filter[] }).filters.some((f) => matchesUser(f, user, parent));
    case 'not':
      return !matchesUser((filter as { filter: Filter }).filter, user, parent);
    case '[]': {
      const { attrPath, valFilter } = filter as { attrPath: string; valFilter: Filter };
      return valuesAt(user, attrPath, true).some((item) => isObject(item) && matchesUser(valFilter, item, attrPath));
    }
    default: {
      const { attrPath, compValue } = filter as { attrPath: string; compValue?: unknown };
      const values = expand(valuesAt(user, attrPath), attrPath);
      if (filter.op === 'pr') return values.some((v) => compare('pr', v, undefined, false));
      if (values.length === 0) return filter.op === 'ne';
      // Phone numbers compare by number identity: "012-345 6789" finds "0123456789".
      if (
        isNumberPath(parent ? `${parent}.${attrPath}` : attrPath) &&
        (filter.op === 'eq' || filter.op === 'ne') &&
        typeof compValue === 'string'
      ) {
        const same = values.some((v) => typeof v === 'string' && sameNumber(v, compValue));
        return filter.op === 'eq' ? same : !same;
      }
      return values.some((v) => compare(filter.op, v, compValue, caseExact(attrPath)));
    }
  }
}

export function parseListFilter(text: string | undefined): Filter | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  if (text.length > 2000) throw new ScimError(400, 'invalidFilter', 'The filter is longer than 2000 characters');
  const filter = parseFilter(text);
  checkPaths(filter);
  return filter;
}

const META = ['created', 'lastmodified', 'version', 'resourcetype', 'location'];
const unknownPath = (path: string) =>
  new ScimError(400, 'invalidFilter', `The filter names "${path}", which is no attribute of a User`);

/** The attribute a filter path names, or an invalidFilter error: a typo should not match nothing. */
function resolvePath(path: string): AttrDef | undefined {
  let schema = USER_SCHEMAS[0]!;
  let rest = path;
  if (/^urn:/i.test(path)) {
    const split = splitUrnPath(path);
    if (!split || split.rest === '') throw unknownPath(path);
    schema = split.schema;
    rest = split.rest;
  }
  const [name, sub, extra] = rest.split('.');
  if (extra !== undefined || !name) throw unknownPath(path);
  if (schema === USER_SCHEMAS[0] && (name === 'id' || name.toLowerCase() === 'meta')) {
    if (name === 'id' ? sub !== undefined : sub === undefined || !META.includes(sub.toLowerCase()))
      throw unknownPath(path);
    return undefined;
  }
  const attr = findAttr(schema.attributes, name);
  if (!attr) throw unknownPath(path);
  if (sub === undefined) return attr;
  const subAttr = findAttr(attr.subAttributes ?? [], sub);
  if (!subAttr) throw unknownPath(path);
  return subAttr;
}

function checkPaths(filter: Filter, parent?: AttrDef): void {
  switch (filter.op) {
    case 'and':
    case 'or':
      (filter as { filters: Filter[] }).filters.forEach((f) => checkPaths(f, parent));
      return;
    case 'not':
      checkPaths((filter as { filter: Filter }).filter, parent);
      return;
    case '[]': {
      if (parent) throw new ScimError(400, 'invalidFilter', 'A value filter cannot hold another value filter');
      const { attrPath, valFilter } = filter as { attrPath: string; valFilter: Filter };
      const attr = resolvePath(attrPath);
      if (!attr?.multiValued || attr.type !== 'complex')
        throw new ScimError(400, 'invalidFilter', `"${attrPath}" takes no value filter`);
      checkPaths(valFilter, attr);
      return;
    }
    default: {
      const { attrPath } = filter as { attrPath: string };
      if (parent) {
        if (!findAttr(parent.subAttributes ?? [], attrPath)) throw unknownPath(`${parent.name}.${attrPath}`);
      } else {
        resolvePath(attrPath);
      }
    }
  }
}

const ALWAYS = ['id', 'schemas', 'meta'];

/** `id`, `schemas`, `meta` in any spelling, with or without the core schema URN. */
function isAlwaysReturned(name: string): boolean {
  const { container, parts } = locate(name);
  return container === undefined && parts.length > 0 && ALWAYS.includes(parts[0]!.toLowerCase());
}

function splitNames(list: string | undefined): string[] | undefined {
  if (list === undefined || list.trim() === '') return undefined;
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * `attributes` / `excludedAttributes` (RFC 7644 §3.9): names, dotted sub-attributes and
 * URN-qualified names; `id`, `schemas` and `meta` are always returned.
 */
export function project(
  resource: Record<string, unknown>,
  attributes?: string,
  excluded?: string,
): Record<string, unknown> {
  const include = splitNames(attributes);
  const exclude = splitNames(excluded);
  if (include) {
    const out: Record<string, unknown> = {};
    for (const key of ALWAYS) if (key in resource) out[key] = resource[key];
    for (const name of include) copyPath(resource, out, name);
    return out;
  }
  if (exclude) {
    const out = structuredClone(resource);
    for (const name of exclude) if (!isAlwaysReturned(name)) deletePath(out, name);
    return out;
  }
  return resource;
}

function locate(name: string): { container?: string; parts: string[] } {
  if (/^urn:/i.test(name)) {
    const split = splitUrnPath(name);
    if (!split) return { parts: [] };
    const container = split.schema.id === USER_SCHEMAS[0]!.id ? undefined : split.schema.id;
    return { container, parts: split.rest ? split.rest.split('.') : [] };
  }
  return { parts: name.split('.') };
}

function keyOf(obj: Record<string, unknown>, name: string) {
  return Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase());
}

function copyPath(from: Record<string, unknown>, to: Record<string, unknown>, name: string) {
  const { container, parts } = locate(name);
  let src: unknown = from;
  let dst: Record<string, unknown> = to;
  if (container) {
    const k = keyOf(from, container);
    if (!k || !isObject(from[k])) return;
    src = from[k];
    dst = (to[k] ??= {}) as Record<string, unknown>;
    if (parts.length === 0) {
      to[k] = structuredClone(src);
      return;
    }
  }
  const [first, sub] = parts;
  if (!first || !isObject(src)) return;
  const k = keyOf(src, first);
  if (!k) return;
  const value = src[k];
  if (sub === undefined) dst[k] = structuredClone(value);
  else if (Array.isArray(value)) dst[k] = value.map((item) => (isObject(item) ? pick(item, sub) : item));
  else if (isObject(value)) dst[k] = { ...((dst[k] as object) ?? {}), ...pick(value, sub) };
}

function pick(obj: Record<string, unknown>, name: string) {
  const k = keyOf(obj, name);
  return k ? { [k]: obj[k] } : {};
}

function deletePath(obj: Record<string, unknown>, name: string) {
  const { container, parts } = locate(name);
  let target: unknown = obj;
  if (container) {
    const k = keyOf(obj, container);
    if (!k) return;
    if (parts.length === 0) {
      delete obj[k];
      return;
    }
    target = obj[k];
  }
  const [first, sub] = parts;
  if (!first || !isObject(target)) return;
  const k = keyOf(target, first);
  if (!k) return;
  if (sub === undefined) delete target[k];
  else {
    const value = target[k];
    for (const item of Array.isArray(value) ? value : [value]) {
      if (isObject(item)) {
        const sk = keyOf(item, sub);
        if (sk) delete item[sk];
      }
    }
  }
}
