/**
 * What the workflow may ask of the outside world. The workflow imports these types only; the
 * implementations (Postgres, SMS) live beside this file and run in the worker.
 */
import type { Scenario } from '../domain/scenarios';
import type { CodePolicy } from '../workflows/messages';

export interface ChangeRef {
  org: string;
  userId: string;
  scenario: Scenario;
  changeId: string;
  requestId: string;
}

export interface IssueCodeInput extends ChangeRef {
  number: string;
  policy: CodePolicy;
}

/** Only a keyed hash of the code leaves the activity; the code itself goes to the SMS alone. */
export type IssueCodeResult = { owned: false } | { owned: true; codeHash: string; messageId: string };

export interface CommitClaimInput extends ChangeRef {
  codeHash: string;
  /** Until when the same code is accepted again (idempotent approval). */
  acceptedUntil: string;
}

export type CommitClaimResult = { committed: false } | { committed: true; number: string };

export interface ClearPendingInput extends ChangeRef {
  reason: 'expired' | 'failed';
  maskedNumber: string;
}

export interface AuditInput extends ChangeRef {
  event: 'attempt_failed' | 'resent' | 'send_failed';
  maskedNumber: string;
  detail?: Record<string, unknown>;
}

export interface Activities {
  issueCode(input: IssueCodeInput): Promise<IssueCodeResult>;
  commitClaim(input: CommitClaimInput): Promise<CommitClaimResult>;
  clearPending(input: ClearPendingInput): Promise<void>;
  recordAudit(input: AuditInput): Promise<void>;
}

/** Error types that no retry can fix; the workflow records them and stops retrying. */
export const PERMANENT_SMS_FAILURE = 'SmsPermanentFailure';
/** The hourly SMS cap of the user or the org is reached; details[0] is the seconds to wait. */
export const SMS_RATE_LIMITED = 'SmsRateLimited';
