import { ApplicationFailure } from '@temporalio/activity';
import { Transaction } from 'sequelize';
import { AcceptedCodeRow, Database, PendingChangeRow, SmsSendRow, UserRow, audit, smsWait } from '../db';
import { addVerifiedNumber, primaryMobileOf, setPrimaryMobile } from '../domain/claims';
import { generateCode, hashCode } from '../domain/codes';
import { maskNumber, normalizeNumber, sameNumber } from '../domain/numbers';
import { renderSms } from '../domain/policy';
import { PRIMARY_UPDATE } from '../domain/scenarios';
import type { Logger } from '../lib/logger';
import { codesSent, resends, smsFailures, verificationsFinished, wrongCodes } from '../lib/metrics';
import {
  Activities,
  AuditInput,
  ClearPendingInput,
  CommitClaimInput,
  CommitClaimResult,
  IssueCodeInput,
  IssueCodeResult,
  PERMANENT_SMS_FAILURE,
  SMS_RATE_LIMITED,
} from './contract';
import { SmsPermanentError, SmsProvider } from './sms/provider';

export interface ActivityDeps {
  db: Database;
  codeHashKey: Buffer;
  smsProviders: Partial<Record<string, SmsProvider>>;
  logger: Logger;
}

export function createActivities(deps: ActivityDeps): Activities {
  const { db, logger } = deps;

  /** One structured line per activity: what happened to whom, never a number or a code. */
  async function logged<T>(
    name: string,
    ref: { org: string; userId: string; scenario: string; changeId: string; requestId: string },
    work: () => Promise<T>,
    outcome: (r: T) => string,
  ): Promise<T> {
    const started = performance.now();
    const fields = {
      activity: name,
      org: ref.org,
      userId: ref.userId,
      scenario: ref.scenario,
      changeId: ref.changeId,
      traceId: ref.requestId,
    };
    try {
      const result = await work();
      logger.info({ ...fields, outcome: outcome(result), durationMs: Math.round(performance.now() - started) }, name);
      return result;
    } catch (error) {
      logger.warn(
        {
          ...fields,
          outcome: 'error',
          error: (error as Error).message,
          durationMs: Math.round(performance.now() - started),
        },
        name,
      );
      throw error;
    }
  }

  /** Waits for a request's transaction that holds the user row, then checks the row is ours. */
  async function ownsChange(
    tx: Transaction,
    input: { org: string; userId: string; changeId: string },
    lock: 'share' | 'update',
  ) {
    const user = await UserRow.findOne({
      where: { id: input.userId, org: input.org },
      transaction: tx,
      lock: lock === 'share' ? tx.LOCK.SHARE : tx.LOCK.UPDATE,
    });
    if (!user) return undefined;
    const row = await PendingChangeRow.findByPk(input.changeId, { transaction: tx });
    return row && row.org === input.org && row.userId === input.userId ? { user, row } : undefined;
  }

  async function issueCode(input: IssueCodeInput): Promise<IssueCodeResult> {
    return logged(
      'issueCode',
      input,
      async () => {
        // The ownership check and the hourly caps in one transaction; the org lock makes the caps
        // exact when many sends of one org race.
        const wait = await db.sequelize.transaction(async (tx) => {
          if (!(await ownsChange(tx, input, 'share'))) return undefined;
          const { smsPerUserPerHour, smsPerOrgPerHour } = input.policy;
          if (smsPerUserPerHour === undefined || smsPerOrgPerHour === undefined) return 0;
          await db.sequelize.query('SELECT pg_advisory_xact_lock(hashtext(:org))', {
            replacements: { org: input.org },
            transaction: tx,
          });
          const seconds = await smsWait(
            db.sequelize,
            input.org,
            input.userId,
            { perUserPerHour: smsPerUserPerHour, perOrgPerHour: smsPerOrgPerHour },
            tx,
          );
          if (seconds === 0)
            await SmsSendRow.create(
              { org: input.org, userId: input.userId, changeId: input.changeId, at: new Date() },
              { transaction: tx },
            );
          return seconds;
        });
        if (wait === undefined) return { owned: false } as const;
        if (wait > 0) smsFailures.inc({ provider: input.policy.smsProvider, kind: 'rate_limited' });
        if (wait > 0)
          throw ApplicationFailure.create({
            message: 'Hourly SMS limit reached',
            type: SMS_RATE_LIMITED,
            nonRetryable: true,
            details: [wait],
          });
        const provider = deps.smsProviders[input.policy.smsProvider];
        if (!provider)
          throw ApplicationFailure.nonRetryable(
            `SMS provider ${input.policy.smsProvider} is not configured`,
            PERMANENT_SMS_FAILURE,
          );
        const code = generateCode(input.policy.codeLength, input.policy.codeCharset);
        const body = renderSms(input.policy.smsTemplate, { code, org: input.org, ttlSeconds: input.policy.codeTtl });
        try {
          // Providers get the number without the separators people type (E.164 where it has a +).
          const to = normalizeNumber(input.number) ?? input.number;
          const { messageId } = await provider.send({
            to,
            body,
            org: input.org,
            scenario: input.scenario,
            userId: input.userId,
            senderId: input.policy.smsSenderId,
          });
          codesSent.inc({ provider: provider.name });
          return { owned: true, codeHash: hashCode(deps.codeHashKey, input.changeId, code), messageId } as const;
        } catch (error) {
          const permanent = error instanceof SmsPermanentError;
          smsFailures.inc({ provider: provider.name, kind: permanent ? 'permanent' : 'transient' });
          if (permanent) throw ApplicationFailure.nonRetryable(error.message, PERMANENT_SMS_FAILURE);
          throw error;
        }
      },
      (r) => (r.owned ? 'sent' : 'not_owner'),
    );
  }

  /**
   * Writes the verified claim, clears the pending row and records the accepted code's hash, in
   * one transaction and only while the row is ours. A retry after a lost reply finds the
   * accepted code and answers the same.
   */
  async function commitClaim(input: CommitClaimInput): Promise<CommitClaimResult> {
    let firstCommit = false;
    return logged(
      'commitClaim',
      input,
      () =>
        db.sequelize.transaction(async (tx): Promise<CommitClaimResult> => {
          const owned = await ownsChange(tx, input, 'update');
          if (!owned) {
            const accepted = await AcceptedCodeRow.findByPk(input.changeId, { transaction: tx });
            return accepted ? { committed: true, number: accepted.number } : { committed: false };
          }
          const { user, row } = owned;
          const doc = structuredClone(user.doc);
          let phoneVerified = user.phoneVerified;
          if (row.scenario === PRIMARY_UPDATE) {
            setPrimaryMobile(doc, row.number);
            phoneVerified = true;
            if (row.alsoVerifiedList) addVerifiedNumber(doc, row.number);
          } else {
            addVerifiedNumber(doc, row.number);
            if (primaryMobileOf(doc) === undefined) setPrimaryMobile(doc, row.number);
            if (sameNumber(primaryMobileOf(doc), row.number)) phoneVerified = true;
          }
          const now = new Date();
          await user.update({ doc, phoneVerified, version: user.version + 1, updatedAt: now }, { transaction: tx });
          await row.destroy({ transaction: tx });
          await AcceptedCodeRow.create(
            {
              changeId: row.id,
              org: row.org,
              userId: row.userId,
              scenario: row.scenario,
              number: row.number,
              codeHash: input.codeHash,
              acceptedUntil: new Date(input.acceptedUntil),
              createdAt: now,
            },
            { transaction: tx },
          );
          await audit(tx, { ...input, event: 'verified', maskedNumber: maskNumber(row.number), actor: input.userId });
          firstCommit = true;
          return { committed: true, number: row.number };
        }),
      (r) => (r.committed ? 'committed' : 'not_owner'),
    ).then((r) => {
      if (firstCommit) verificationsFinished.inc({ scenario: input.scenario, status: 'verified' });
      return r;
    });
  }

  async function clearPending(input: ClearPendingInput): Promise<void> {
    await logged(
      'clearPending',
      input,
      () =>
        db.sequelize.transaction(async (tx) => {
          const removed = await PendingChangeRow.destroy({
            where: { id: input.changeId, org: input.org },
            transaction: tx,
          });
          if (removed > 0) await audit(tx, { ...input, event: input.reason, actor: 'system' });
          return removed;
        }),
      (removed) => (removed > 0 ? input.reason : 'not_owner'),
    ).then((removed) => {
      if (removed > 0) verificationsFinished.inc({ scenario: input.scenario, status: input.reason });
    });
  }

  async function recordAudit(input: AuditInput): Promise<void> {
    await logged(
      'recordAudit',
      input,
      () => db.sequelize.transaction((tx) => audit(tx, { ...input, actor: input.userId, dedupeKey: stepKey(input) })),
      () => input.event,
    );
    if (input.event === 'attempt_failed') wrongCodes.inc({ scenario: input.scenario });
    if (input.event === 'resent') resends.inc({ scenario: input.scenario });
  }

  return { issueCode, commitClaim, clearPending, recordAudit };
}

/** The workflow step an audit row records, where the step carries its own counter. */
function stepKey(input: AuditInput): string | undefined {
  const counter =
    input.event === 'attempt_failed'
      ? input.detail?.wrongTries
      : input.event === 'resent'
        ? input.detail?.resends
        : undefined;
  return counter === undefined ? undefined : `${input.changeId}:${input.event}:${String(counter)}`;
}
