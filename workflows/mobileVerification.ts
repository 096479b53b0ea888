import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  isCancellation,
  condition,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities/contract';
import { PERMANENT_SMS_FAILURE, SMS_RATE_LIMITED } from '../activities/contract';
import { cooldownAfterSend } from '../domain/limits';
import type { VerificationStatus } from '../domain/scenarios';
import {
  ResendCodeResult,
  ValidateCodeResult,
  VerificationInput,
  VerificationResult,
  cancel,
  matchesCode,
  resendCode,
  searchAttributes,
  state,
  supersede,
  validateCode,
} from './messages';

const { issueCode } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    maximumAttempts: 4,
    nonRetryableErrorTypes: [PERMANENT_SMS_FAILURE],
  },
});

// Commits and clean-ups must happen eventually: Postgres restarts are waited out.
const postgresRetry = {
  initialInterval: '500 milliseconds',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
} as const;
const remote = proxyActivities<Activities>({ startToCloseTimeout: '15 seconds', retry: postgresRetry });
const local = proxyLocalActivities<Activities>({ startToCloseTimeout: '15 seconds', retry: postgresRetry });

/**
 * Which activities do the Postgres work, by the version of the workflow a run started with:
 * - before LOCAL_POSTGRES_ACTIVITIES: remote activities;
 * - LOCAL_POSTGRES_ACTIVITIES: local ones, which answered validate-code sooner but, under
 *   bursts of concurrent Updates, made some Updates fail;
 * - REMOTE_POSTGRES_ACTIVITIES (now): remote ones again.
 * Each run keeps the choice it started with, so every recorded history replays.
 */
const LOCAL_POSTGRES_ACTIVITIES = 'local-postgres-activities';
const REMOTE_POSTGRES_ACTIVITIES = 'remote-postgres-activities';
const postgres = (): Pick<Activities, 'commitClaim' | 'clearPending' | 'recordAudit'> => {
  if (patched(REMOTE_POSTGRES_ACTIVITIES)) return remote;
  return patched(LOCAL_POSTGRES_ACTIVITIES) ? local : remote;
};

type FinalStatus = Exclude<VerificationStatus, 'code_sent' | 'send_failed'>;

interface LiveCode {
  hash: string;
  expiresAt: number;
  wrongTries: number;
  /** Killed by too many wrong tries: later tries are answered like an expired code. */
  dead: boolean;
}

const HASH = /^[0-9a-f]{64}$/;

/**
 * One pending change of a user's mobile number: send a code, wait for the right one within the
 * deadlines, then commit the claim. Postgres holds the claims; this workflow holds the code's
 * hash, the counters and the clock.
 */
export async function mobileVerification(input: VerificationInput): Promise<VerificationResult> {
  const { policy } = input;
  const ref = { org: input.org, userId: input.userId, scenario: input.scenario, changeId: input.changeId };
  const startedAt = Date.now();
  const pendingExpiresAt = startedAt + policy.pendingTtl * 1000;

  let status: VerificationStatus = 'code_sent';
  let ended: FinalStatus | undefined;
  let code: LiveCode | undefined;
  let acceptedHash: string | undefined;
  let verifiedNumber: string | undefined;
  let sends = 0;
  let resends = 0;
  let wrongTries = 0;
  let nextResendAt = 0;
  let busy = false;

  // Every activity runs in this scope. When a newer request supersedes or cancels the change,
  // the scope is cancelled so the workflow closes at once, even while an activity waits for the
  // very request that ends it (that request holds the user's row lock until it has seen the
  // workflow close). The activity finishes on its own later and finds the row no longer ours.
  const io = new CancellationScope();

  const setStatus = (next: VerificationStatus) => {
    status = next;
    upsertSearchAttributes([{ key: searchAttributes.status, value: next }]);
  };
  const finish = (final: FinalStatus) => {
    if (ended) return;
    ended = final;
    setStatus(final);
    log.info('verification ended', { ...ref, traceId: input.requestId, status: final, codesSent: sends, wrongTries });
  };
  const endFromOutside = (final: 'superseded' | 'cancelled') => {
    finish(final);
    io.cancel();
  };
  const triesLeft = () =>
    Math.max(
      0,
      Math.min(policy.maxAttemptsPerChange - wrongTries, policy.maxAttemptsPerCode - (code?.wrongTries ?? 0)),
    );

  /**
   * Handlers that run activities take turns, so counters and limits hold exactly. Work cut off
   * because the change ended from outside answers `ended`.
   */
  async function exclusively<T>(work: () => Promise<T>): Promise<T | { outcome: 'ended' }> {
    // Every waiter's condition turns true at the same moment; the loop lets only the first in.
    while (busy) await condition(() => !busy);
    busy = true;
    try {
      return await work();
    } catch (error) {
      if (isCancellation(error) && ended) return { outcome: 'ended' };
      throw error;
    } finally {
      busy = false;
    }
  }

  type SendResult = { sent: true } | { sent: false; permanent: boolean; retryAfterSeconds?: number };

  async function sendCode(requestId: string): Promise<SendResult> {
    try {
      const issued = await io.run(() => issueCode({ ...ref, requestId, number: input.number, policy }));
      if (!issued.owned) {
        // The pending row was handed to a newer change, or the request that made it rolled back.
        finish('superseded');
        return { sent: false, permanent: true };
      }
      const now = Date.now();
      code = { hash: issued.codeHash, expiresAt: now + policy.codeTtl * 1000, wrongTries: 0, dead: false };
      sends += 1;
      nextResendAt = now + cooldownAfterSend(policy.resendCooldown, sends) * 1000;
      setStatus('code_sent');
      return { sent: true };
    } catch (error) {
      if (isCancellation(error)) return { sent: false, permanent: false };
      const cause =
        error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? error.cause : undefined;
      const permanent = cause?.type === PERMANENT_SMS_FAILURE;
      const retryAfterSeconds = cause?.type === SMS_RATE_LIMITED ? Number(cause.details?.[0] ?? 60) : undefined;
      log.warn('SMS not sent', { ...ref, traceId: requestId, permanent, rateLimited: retryAfterSeconds !== undefined });
      code = undefined;
      setStatus('send_failed');
      const detail = retryAfterSeconds === undefined ? { permanent } : { permanent, rateLimited: true };
      await io.run(() =>
        postgres().recordAudit({ ...ref, requestId, event: 'send_failed', maskedNumber: input.maskedNumber, detail }),
      );
      return { sent: false, permanent, retryAfterSeconds };
    }
  }

  // --- Message handlers --------------------------------------------------------------------

  setHandler(
    validateCode,
    (request) =>
      exclusively(async (): Promise<ValidateCodeResult> => {
        if (ended) {
          const retried = ended === 'verified' && request.codeHash === acceptedHash;
          return retried ? { outcome: 'verified', number: verifiedNumber! } : { outcome: 'ended' };
        }
        if (request.changeId !== input.changeId) return { outcome: 'wrong', triesLeft: triesLeft() };
        if (!code || code.dead || Date.now() > code.expiresAt) return { outcome: 'expired' };

        const live = code;
        if (request.codeHash === live.hash) {
          const committed = await io.run(() =>
            postgres().commitClaim({
              ...ref,
              requestId: request.requestId,
              codeHash: live.hash,
              acceptedUntil: new Date(live.expiresAt).toISOString(),
            }),
          );
          if (!committed.committed) {
            finish('superseded');
            return { outcome: 'ended' };
          }
          acceptedHash = live.hash;
          verifiedNumber = committed.number;
          finish('verified');
          return { outcome: 'verified', number: committed.number };
        }

        live.wrongTries += 1;
        wrongTries += 1;
        if (wrongTries >= policy.maxAttemptsPerChange) {
          await io.run(() =>
            postgres().clearPending({
              ...ref,
              requestId: request.requestId,
              reason: 'failed',
              maskedNumber: input.maskedNumber,
            }),
          );
          finish('failed');
          return { outcome: 'locked' };
        }
        if (live.wrongTries >= policy.maxAttemptsPerCode) live.dead = true;
        await io.run(() =>
          postgres().recordAudit({
            ...ref,
            requestId: request.requestId,
            event: 'attempt_failed',
            maskedNumber: input.maskedNumber,
            detail: { wrongTries, codeWrongTries: live.wrongTries },
          }),
        );
        return { outcome: 'wrong', triesLeft: triesLeft() };
      }),
    {
      // Malformed input is refused before it reaches history.
      validator: (request) => {
        if (typeof request?.changeId !== 'string' || request.changeId.length > 64) throw new Error('bad changeId');
        if (typeof request.codeHash !== 'string' || !HASH.test(request.codeHash)) throw new Error('bad codeHash');
      },
    },
  );

  setHandler(
    resendCode,
    (request) =>
      exclusively(async (): Promise<ResendCodeResult> => {
        if (ended || request.changeId !== input.changeId) return { outcome: 'ended' };
        const now = Date.now();
        if (resends >= policy.maxResends) {
          return { outcome: 'limit', retryAfterSeconds: Math.ceil((pendingExpiresAt - now) / 1000) };
        }
        if (now < nextResendAt && status !== 'send_failed') {
          return { outcome: 'cooldown', retryAfterSeconds: Math.ceil((nextResendAt - now) / 1000) };
        }
        const result = await sendCode(request.requestId);
        if (!result.sent) {
          if (ended) return { outcome: 'ended' };
          if (result.retryAfterSeconds !== undefined)
            return { outcome: 'rate_limited', retryAfterSeconds: result.retryAfterSeconds };
          return { outcome: 'send_failed', permanent: result.permanent };
        }
        resends += 1;
        await io.run(() =>
          postgres().recordAudit({
            ...ref,
            requestId: request.requestId,
            event: 'resent',
            maskedNumber: input.maskedNumber,
            detail: { resends },
          }),
        );
        return { outcome: 'sent' };
      }),
    {
      validator: (request) => {
        if (typeof request?.changeId !== 'string' || request.changeId.length > 64) throw new Error('bad changeId');
      },
    },
  );

  // The API hands the pending row over (or deletes it) and writes the audit row in the same
  // transaction; the workflow only has to stop.
  setHandler(supersede, () => endFromOutside('superseded'));
  setHandler(cancel, () => endFromOutside('cancelled'));

  setHandler(
    matchesCode,
    (codeHash) => !ended && !!code && !code.dead && Date.now() <= code.expiresAt && code.hash === codeHash,
  );

  setHandler(state, () => ({
    scenario: input.scenario,
    status,
    maskedNumber: input.maskedNumber,
    codeExpiresAt: code ? new Date(code.expiresAt).toISOString() : undefined,
    pendingExpiresAt: new Date(pendingExpiresAt).toISOString(),
    triesLeft: triesLeft(),
    resendsLeft: Math.max(0, policy.maxResends - resends),
    cooldownEndsAt: nextResendAt ? new Date(nextResendAt).toISOString() : undefined,
  }));

  // --- Main ----------------------------------------------------------------------------------

  // 1. Send the first code (unless a newer change already took over).
  await exclusively(() => sendCode(input.requestId));

  // 2. Wait for the outcome or the end of the pending change's life.
  const decided = await condition(() => ended !== undefined, Math.max(0, pendingExpiresAt - Date.now()));

  // 3. Expired: clear the pending row (only if still ours), after any running handler.
  if (!decided) {
    await exclusively(async () => {
      if (ended) return;
      await io.run(() =>
        postgres().clearPending({
          ...ref,
          requestId: input.requestId,
          reason: 'expired',
          maskedNumber: input.maskedNumber,
        }),
      );
      finish('expired');
    });
  }

  await condition(allHandlersFinished);
  return {
    status: ended!,
    startedAt: new Date(startedAt).toISOString(),
    endedAt: new Date(Date.now()).toISOString(),
    codesSent: sends,
    wrongTries,
  };
}
