import { indexOfNumber, sameNumber, uniqueNumbers } from './numbers';
import { UserDoc, isMobileEntry, isObject, primaryMobileOf } from './resource';
import { WSO2_USER } from './schema';

export { primaryMobileOf };

/** The two number lists of the `urn:scim:wso2:schema` extension, as arrays. */
export function listsOf(doc: UserDoc): { mobileNumbers: string[]; verifiedMobileNumbers: string[] } {
  const ext = isObject(doc[WSO2_USER]) ? (doc[WSO2_USER] as Record<string, unknown>) : {};
  const list = (v: unknown) => (Array.isArray(v) ? (v as string[]) : []);
  return { mobileNumbers: list(ext.mobileNumbers), verifiedMobileNumbers: list(ext.verifiedMobileNumbers) };
}

export function setLists(doc: UserDoc, lists: { mobileNumbers: string[]; verifiedMobileNumbers: string[] }): void {
  const ext = isObject(doc[WSO2_USER]) ? (doc[WSO2_USER] as Record<string, unknown>) : {};
  const mobileNumbers = uniqueNumbers(lists.mobileNumbers);
  const verifiedMobileNumbers = uniqueNumbers(lists.verifiedMobileNumbers);
  if (mobileNumbers.length > 0) ext.mobileNumbers = mobileNumbers;
  else delete ext.mobileNumbers;
  if (verifiedMobileNumbers.length > 0) ext.verifiedMobileNumbers = verifiedMobileNumbers;
  else delete ext.verifiedMobileNumbers;
  if (Object.keys(ext).length > 0) doc[WSO2_USER] = ext;
  else delete doc[WSO2_USER];
}

/**
 * Sets the primary mobile, keeping the other fields of its `phoneNumbers` entry (`primary`,
 * `display`); `undefined` removes the entry. `like` supplies the entry to restore when a held
 * change puts the stored value back.
 */
export function setPrimaryMobile(doc: UserDoc, number: string | undefined, like?: Record<string, unknown>): void {
  const entries = Array.isArray(doc.phoneNumbers) ? [...(doc.phoneNumbers as unknown[])] : [];
  const at = entries.findIndex(isMobileEntry);
  if (number === undefined) {
    if (at >= 0) entries.splice(at, 1);
  } else if (at >= 0) {
    entries[at] = { ...(like ?? (entries[at] as object)), type: 'mobile', value: number };
  } else {
    entries.push({ ...(like ?? {}), type: 'mobile', value: number });
  }
  if (entries.length > 0) doc.phoneNumbers = entries;
  else delete doc.phoneNumbers;
}

export function mobileEntryOf(doc: UserDoc): Record<string, unknown> | undefined {
  const entries = Array.isArray(doc.phoneNumbers) ? doc.phoneNumbers : [];
  return entries.find(isMobileEntry) as Record<string, unknown> | undefined;
}

/** Adds `number` to both lists (a verified number is always on the mobile list too). */
export function addVerifiedNumber(doc: UserDoc, number: string): void {
  const lists = listsOf(doc);
  if (indexOfNumber(lists.mobileNumbers, number) < 0) lists.mobileNumbers.push(number);
  if (indexOfNumber(lists.verifiedMobileNumbers, number) < 0) lists.verifiedMobileNumbers.push(number);
  setLists(doc, lists);
}

export function isVerifiedNumber(doc: UserDoc, number: string | undefined): boolean {
  return number !== undefined && listsOf(doc).verifiedMobileNumbers.some((n) => sameNumber(n, number));
}
