/**
 * The verification workflow's contract: its input, result, Updates, signals and query. The API
 * and the workflow both import this module, so names and types cannot drift apart.
 */
import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Scenario, VerificationStatus } from '../domain/scenarios';

export const WORKFLOW_TYPE = 'mobileVerification';

/** The part of the org's policy a verification keeps from the moment it starts. */
export interface CodePolicy {
  codeLength: number;
  codeCharset: 'digits' | 'alphanumeric';
  codeTtl: number;
  pendingTtl: number;
  maxAttemptsPerCode: number;
  maxAttemptsPerChange: number;
  resendCooldown: number;
  maxResends: number;
  smsTemplate: string;
  smsProvider: 'outbox' | 'aws-sns' | 'http';
  smsSenderId?: string;
  /** Absent in verifications started before the caps existed: then they do not apply. */
  smsPerUserPerHour?: number;
  smsPerOrgPerHour?: number;
}

export interface VerificationInput {
  org: string;
  userId: string;
  scenario: Scenario;
  /** Id of the pending row this workflow owns; every side effect checks it still does. */
  changeId: string;
  /** The number to verify: personal data, which the payload codec encrypts in history. */
  number: string;
  maskedNumber: string;
  policy: CodePolicy;
  requestId: string;
}

export interface VerificationResult {
  status: VerificationStatus;
  startedAt: string;
  endedAt: string;
  codesSent: number;
  wrongTries: number;
}

/** The API sends a keyed hash of the submitted code, never the code. */
export interface ValidateCodeRequest {
  changeId: string;
  codeHash: string;
  requestId: string;
}

export type ValidateCodeResult =
  | { outcome: 'verified'; number: string }
  | { outcome: 'wrong'; triesLeft: number }
  | { outcome: 'expired' }
  | { outcome: 'locked' }
  | { outcome: 'ended' };

export interface ResendCodeRequest {
  changeId: string;
  requestId: string;
}

export type ResendCodeResult =
  | { outcome: 'sent' }
  | { outcome: 'cooldown'; retryAfterSeconds: number }
  | { outcome: 'limit'; retryAfterSeconds: number }
  | { outcome: 'send_failed'; permanent: boolean }
  | { outcome: 'rate_limited'; retryAfterSeconds: number }
  | { outcome: 'ended' };

export interface EndRequest {
  requestId: string;
}

export interface VerificationState {
  scenario: Scenario;
  status: VerificationStatus;
  maskedNumber: string;
  codeExpiresAt?: string;
  pendingExpiresAt: string;
  triesLeft: number;
  resendsLeft: number;
  cooldownEndsAt?: string;
}

/** An Update, not a signal: the HTTP caller needs the answer (verified, wrong, expired, locked). */
export const validateCode = defineUpdate<ValidateCodeResult, [ValidateCodeRequest]>('validateCode');
/** An Update too: the caller learns whether an SMS went out or how long to wait. */
export const resendCode = defineUpdate<ResendCodeResult, [ResendCodeRequest]>('resendCode');
/** A newer change of the same user and scenario took over the pending row. */
export const supersede = defineSignal<[EndRequest]>('supersede');
/** The pending change was withdrawn (number set back, removed, or committed another way). */
export const cancel = defineSignal<[EndRequest]>('cancel');
export const state = defineQuery<VerificationState>('state');
/**
 * Whether a code hash is the live code's, without counting a try: the API asks it when one
 * code must be matched against two pending changes, so that the right code for one is not a
 * wrong try for the other. Only the API holds hashes; nothing outside learns anything new.
 */
export const matchesCode = defineQuery<boolean, [string]>('matchesCode');

export const searchAttributes = {
  orgName: defineSearchAttributeKey('OrgName', 'KEYWORD'),
  userId: defineSearchAttributeKey('UserId', 'KEYWORD'),
  scenario: defineSearchAttributeKey('VerificationScenario', 'KEYWORD'),
  status: defineSearchAttributeKey('VerificationStatus', 'KEYWORD'),
  maskedMobile: defineSearchAttributeKey('MaskedMobile', 'KEYWORD'),
};
