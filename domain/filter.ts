import { Filter, parse } from 'scim2-parse-filter';
import { ScimError } from './errors';
import { AttrDef, findAttr } from './schema';

export type { Filter };

/** Parses a SCIM filter; a filter that does not parse is a 400 `invalidFilter`. */
export function parseFilter(text: string): Filter {
  try {
    return parse(text);
  } catch (error) {
    throw new ScimError(400, 'invalidFilter', `The filter "${text}" does not parse: ${(error as Error).message}`);
  }
}

/**
 * Evaluates a filter against one complex value, reading sub-attributes case-insensitively and
 * comparing strings case-insensitively unless the sub-attribute is caseExact (RFC 7644 §3.4.2.2).
 */
export function matchesFilter(
  filter: Filter,
  item: Record<string, unknown>,
  subAttributes: readonly AttrDef[],
): boolean {
  switch (filter.op) {
    case 'and':
      return (filter as { filters: Filter[] }).filters.every((f) => matchesFilter(f, item, subAttributes));
    case 'or':
      return (filter as { filters: Filter[] }).filters.some((f) => matchesFilter(f, item, subAttributes));
    case 'not':
      return !matchesFilter((filter as { filter: Filter }).filter, item, subAttributes);
    case '[]':
      return false;
    default: {
      const { attrPath, compValue } = filter as { attrPath: string; compValue?: unknown };
      const def = findAttr(subAttributes, attrPath);
      const key = Object.keys(item).find((k) => k.toLowerCase() === attrPath.toLowerCase());
      const actual = key === undefined ? undefined : item[key];
      return compare(filter.op, actual, compValue, def?.caseExact === true);
    }
  }
}

export function compare(op: string, actual: unknown, expected: unknown, caseExact: boolean): boolean {
  if (op === 'pr') return actual !== undefined && actual !== null && actual !== '';
  if (actual === undefined || actual === null) return op === 'ne' && expected !== null;
  const fold = (v: unknown) => (typeof v === 'string' && !caseExact ? v.toLowerCase() : v);
  const a = fold(actual);
  const b = fold(expected);
  switch (op) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'co':
      return typeof a === 'string' && typeof b === 'string' && a.includes(b);
    case 'sw':
      return typeof a === 'string' && typeof b === 'string' && a.startsWith(b);
    case 'ew':
      return typeof a === 'string' && typeof b === 'string' && a.endsWith(b);
    case 'gt':
      return (a as never) > (b as never);
    case 'ge':
      return (a as never) >= (b as never);
    case 'lt':
      return (a as never) < (b as never);
    case 'le':
      return (a as never) <= (b as never);
    default:
      return false;
  }
}

/**
 * The attribute values a filter of plain `eq` terms joined by `and` pins down, e.g.
 * `type eq "mobile"` gives `{ type: "mobile" }`; anything else gives undefined.
 */
export function equalityTerms(filter: Filter, subAttributes: readonly AttrDef[]): Record<string, unknown> | undefined {
  if (filter.op === 'and') {
    const parts = (filter as { filters: Filter[] }).filters.map((f) => equalityTerms(f, subAttributes));
    if (parts.some((p) => p === undefined)) return undefined;
    return Object.assign({}, ...parts);
  }
  if (filter.op !== 'eq') return undefined;
  const { attrPath, compValue } = filter as { attrPath: string; compValue: unknown };
  const def = findAttr(subAttributes, attrPath);
  return def ? { [def.name]: compValue } : undefined;
}
