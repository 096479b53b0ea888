import {
  addVerifiedNumber,
  isVerifiedNumber,
  listsOf,
  mobileEntryOf,
  primaryMobileOf,
  setLists,
  setPrimaryMobile,
} from './claims';
import { invalidValue } from './errors';
import { indexOfNumber, sameNumber } from './numbers';
import { touchKey } from './patch';
import type { Policy } from './policy';
import { UserDoc, isObject } from './resource';
import { CORE_USER_SCHEMA, WSO2_USER, WSO2_USER_SCHEMA, findAttr } from './schema';
import { PRIMARY_UPDATE, Scenario, VERIFIED_LIST_UPDATE } from './scenarios';

/** A pending change as the rules see it. */
export interface PendingView {
  scenario: Scenario;
  number: string;
}

export interface StartChange {
  scenario: Scenario;
  number: string;
  /** A primary change whose number was also added to the verified list in the same request. */
  alsoVerifiedList: boolean;
}

export interface Decision {
  /** The user to store now: committed values only, held numbers put back. */
  doc: UserDoc;
  phoneVerified: boolean;
  /** New pending changes; an existing one of the same scenario is superseded. */
  start: StartChange[];
  /** Pending changes to end as `cancelled`. */
  cancel: Scenario[];
  /** The primary was written without verification by an administrator (audited). */
  bypassed: boolean;
}

export interface DecideInput {
  stored: { doc: UserDoc; phoneVerified: boolean };
  pending: PendingView[];
  /** The user as the request would leave it (PATCH/PUT engine result). */
  next: UserDoc;
  /** Top-level attributes the request addressed; a PUT addresses all of them. */
  touched: Set<string> | 'all';
  policy: Policy;
  /** `admin` for /Users/{id}, `self` for /Me. */
  via: 'admin' | 'self';
}

const PHONE_NUMBERS = touchKey(CORE_USER_SCHEMA, findAttr(CORE_USER_SCHEMA.attributes, 'phoneNumbers')!);
const MOBILE_LIST = touchKey(WSO2_USER_SCHEMA, findAttr(WSO2_USER_SCHEMA.attributes, 'mobileNumbers')!);
const VERIFIED_LIST = touchKey(WSO2_USER_SCHEMA, findAttr(WSO2_USER_SCHEMA.attributes, 'verifiedMobileNumbers')!);

/**
 * The one function that decides, for /Users and /Me, PATCH and PUT alike, what a request
 * commits now, which pending changes it starts and which it cancels (behaviour.md).
 */
export function decide(input: DecideInput): Decision {
  const { stored, policy } = input;
  const touches = (key: string) => input.touched === 'all' || input.touched.has(key);
  const doc = structuredClone(input.next);
  const verifyMobile = takeVerifyMobile(doc);
  const decision: Decision = { doc, phoneVerified: stored.phoneVerified, start: [], cancel: [], bypassed: false };

  if (!policy.multipleNumbers && (touches(MOBILE_LIST) || touches(VERIFIED_LIST)) && hasLists(input.next)) {
    throw invalidValue(
      'This organization keeps a single mobile number: mobileNumbers and verifiedMobileNumbers are not accepted',
    );
  }
  if (verifyMobile === false && !(input.via === 'admin' && policy.allowAdminBypass)) {
    throw invalidValue(
      "verifyMobile: false (commit without verification) is not allowed by this organization's policy",
    );
  }

  const listStart = decideVerifiedList(input, decision, touches);
  decidePrimary(input, decision, verifyMobile, touches(PHONE_NUMBERS), listStart);
  return decision;
}

function hasLists(doc: UserDoc): boolean {
  const lists = listsOf(doc);
  return lists.mobileNumbers.length > 0 || lists.verifiedMobileNumbers.length > 0;
}

/** `verifyMobile` is a write-only instruction, never stored. */
function takeVerifyMobile(doc: UserDoc): boolean | undefined {
  const ext = doc[WSO2_USER];
  if (!isObject(ext) || ext.verifyMobile === undefined) return undefined;
  const flag = ext.verifyMobile as boolean;
  delete ext.verifyMobile;
  if (Object.keys(ext).length === 0) delete doc[WSO2_USER];
  return flag;
}

/**
 * Scenario 2. Removals apply at once; a new verified number is held back and becomes pending;
 * verified numbers stay a subset of the mobile list. Returns the number to verify, if any.
 */
function decideVerifiedList(
  input: DecideInput,
  decision: Decision,
  touches: (key: string) => boolean,
): string | undefined {
  const { stored, pending, policy } = input;
  const before = listsOf(stored.doc);
  const after = listsOf(decision.doc);
  const pendingList = pending.find((p) => p.scenario === VERIFIED_LIST_UPDATE);
  const added = after.verifiedMobileNumbers.filter((n) => indexOfNumber(before.verifiedMobileNumbers, n) < 0);

  if (!policy.enabled) {
    setLists(decision.doc, {
      mobileNumbers: [...after.mobileNumbers, ...after.verifiedMobileNumbers],
      verifiedMobileNumbers: after.verifiedMobileNumbers,
    });
    if (pendingList && touches(VERIFIED_LIST)) decision.cancel.push(VERIFIED_LIST_UPDATE);
    return undefined;
  }

  // A number removed from the mobile list leaves the verified list as well.
  let verified = before.verifiedMobileNumbers.filter((n) => indexOfNumber(after.verifiedMobileNumbers, n) >= 0);
  if (touches(MOBILE_LIST)) verified = verified.filter((n) => indexOfNumber(after.mobileNumbers, n) >= 0);
  setLists(decision.doc, { mobileNumbers: [...after.mobileNumbers, ...verified], verifiedMobileNumbers: verified });

  // The verified primary is already proven: adding it to the list needs no second code.
  const primary = primaryMobileOf(stored.doc);
  const proven = added.filter((n) => stored.phoneVerified && sameNumber(n, primary));
  proven.forEach((n) => addVerifiedNumber(decision.doc, n));
  const fresh = added.filter((n) => !proven.includes(n));

  if (fresh.length > 1) {
    throw invalidValue('UMV-10002: one new verified mobile number at a time; verify one number, then add the next');
  }
  const number = fresh[0];
  if (number !== undefined && pendingList && sameNumber(number, pendingList.number)) return undefined;
  if (number !== undefined) {
    decision.start.push({ scenario: VERIFIED_LIST_UPDATE, number, alsoVerifiedList: false });
    return number;
  }
  if (pendingList && touches(VERIFIED_LIST)) {
    const stillAsked = indexOfNumber(after.verifiedMobileNumbers, pendingList.number) >= 0;
    if (!stillAsked) decision.cancel.push(VERIFIED_LIST_UPDATE);
  }
  return undefined;
}

/** Scenario 1: the six cases of behaviour.md, plus policy and the administrator's bypass. */
function decidePrimary(
  input: DecideInput,
  decision: Decision,
  verifyMobile: boolean | undefined,
  touched: boolean,
  listStart: string | undefined,
) {
  const { stored, pending, policy } = input;
  const doc = decision.doc;
  const current = primaryMobileOf(stored.doc);
  const wanted = primaryMobileOf(doc);
  const pendingPrimary = pending.find((p) => p.scenario === PRIMARY_UPDATE);
  const holdBack = () => setPrimaryMobile(doc, current, mobileEntryOf(stored.doc));

  if (!touched && verifyMobile === undefined) return;

  // Case 6: removal needs no proof; a pending primary change goes with it.
  if (wanted === undefined) {
    if (current !== undefined) {
      decision.phoneVerified = false;
      if (pendingPrimary) decision.cancel.push(PRIMARY_UPDATE);
    }
    return;
  }

  if (sameNumber(wanted, current)) {
    // The same number written another way is no change: the stored spelling stays.
    setPrimaryMobile(doc, current);
    // Case 5: the request puts the current value back while a change to another number is
    // pending. (A pending check of the current number itself is case 3: it goes on.)
    if (pendingPrimary && !sameNumber(pendingPrimary.number, current)) decision.cancel.push(PRIMARY_UPDATE);
    // Case 1: nothing to do, unless asked to verify the unverified current number.
    const checkRunning = pendingPrimary !== undefined && sameNumber(pendingPrimary.number, current);
    if (verifyMobile === true && !stored.phoneVerified && policy.enabled && !checkRunning) {
      decision.start.push({ scenario: PRIMARY_UPDATE, number: current!, alsoVerifiedList: false });
    }
    return;
  }

  // Case 3: the same number is already waiting for its code.
  if (pendingPrimary && sameNumber(wanted, pendingPrimary.number)) {
    holdBack();
    return;
  }

  // Case 2: a number the user has already proven becomes the primary at once.
  if (isVerifiedNumber(doc, wanted)) {
    decision.phoneVerified = true;
    if (pendingPrimary) decision.cancel.push(PRIMARY_UPDATE);
    return;
  }

  if (!policy.enabled || verifyMobile === false) {
    decision.phoneVerified = false;
    decision.bypassed = verifyMobile === false;
    if (pendingPrimary) decision.cancel.push(PRIMARY_UPDATE);
    return;
  }

  // Case 4: hold the new number back and verify it; the same number asked for the verified
  // list in this request is covered by this one verification.
  holdBack();
  const alsoVerifiedList = listStart !== undefined && sameNumber(listStart, wanted);
  if (alsoVerifiedList) decision.start = decision.start.filter((s) => s.scenario !== VERIFIED_LIST_UPDATE);
  decision.start.push({ scenario: PRIMARY_UPDATE, number: wanted, alsoVerifiedList });
}
