import { Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { UnavailableError } from '../domain/errors';
import type { Scenario } from '../domain/scenarios';
import { verificationWorkflowId } from '../domain/scenarios';
import {
  EndRequest,
  ResendCodeRequest,
  ResendCodeResult,
  ValidateCodeRequest,
  ValidateCodeResult,
  VerificationInput,
  WORKFLOW_TYPE,
  cancel,
  matchesCode,
  resendCode,
  searchAttributes,
  supersede,
  validateCode,
} from '../workflows/messages';

/** How long a superseded workflow gets to close before it is terminated (worker down). */
const END_GRACE_MS = 5_000;
/**
 * Calls made while a user's row is locked give up fast when Temporal is unreachable, so the
 * request answers 503 instead of holding the lock through the client's long retries.
 */
const CALL_DEADLINE_MS = 5_000;
/** An Update waits for the commit activity, which retries through short Postgres hiccups. */
const UPDATE_DEADLINE_MS = 15_000;

/** The API's side of the verification workflows: start, end, and the two Updates. */
export class Verifications {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  /**
   * Starts the workflow of a new pending change. At most one runs per user and scenario; the
   * caller has ended the previous one (under the user's row lock), so a workflow still running
   * under this id is a leftover and is ended first.
   */
  async start(input: VerificationInput): Promise<void> {
    const workflowId = verificationWorkflowId(input.org, input.userId, input.scenario);
    const options = {
      workflowId,
      taskQueue: this.taskQueue,
      args: [input] as [VerificationInput],
      workflowIdConflictPolicy: 'FAIL' as const,
      workflowIdReusePolicy: 'ALLOW_DUPLICATE' as const,
      typedSearchAttributes: [
        { key: searchAttributes.orgName, value: input.org },
        { key: searchAttributes.userId, value: input.userId },
        { key: searchAttributes.scenario, value: input.scenario },
        { key: searchAttributes.status, value: 'code_sent' },
        { key: searchAttributes.maskedMobile, value: input.maskedNumber },
      ],
    };
    const start = () => this.soon(CALL_DEADLINE_MS, () => this.client.workflow.start(WORKFLOW_TYPE, options));
    try {
      await start();
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      await this.end(input.org, input.userId, input.scenario, 'supersede', { requestId: input.requestId });
      await start();
    }
  }

  /** Ends the running verification with `superseded` or `cancelled` and waits until it closed. */
  async end(
    org: string,
    userId: string,
    scenario: Scenario,
    how: 'supersede' | 'cancel',
    request: EndRequest,
  ): Promise<void> {
    const handle = this.client.workflow.getHandle(verificationWorkflowId(org, userId, scenario));
    try {
      await this.soon(CALL_DEADLINE_MS, () => handle.signal(how === 'supersede' ? supersede : cancel, request));
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return;
      throw error;
    }
    const closed = await Promise.race([
      handle.result().then(
        () => true,
        () => true,
      ),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), END_GRACE_MS).unref()),
    ]);
    if (!closed) {
      await handle.terminate(`${how}: the workflow did not close within ${END_GRACE_MS} ms`).catch((error) => {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      });
    }
  }

  /** Validate-code Update; a workflow that has already closed answers `ended`. */
  async validate(
    org: string,
    userId: string,
    scenario: Scenario,
    request: ValidateCodeRequest,
  ): Promise<ValidateCodeResult> {
    const workflowId = verificationWorkflowId(org, userId, scenario);
    return this.update(workflowId, () =>
      this.soon(UPDATE_DEADLINE_MS, () =>
        this.client.workflow.getHandle(workflowId).executeUpdate(validateCode, { args: [request] }),
      ),
    );
  }

  /** Whether the hash is the live code of this verification; false if it has ended. */
  async matches(org: string, userId: string, scenario: Scenario, codeHash: string): Promise<boolean> {
    try {
      return await this.soon(CALL_DEADLINE_MS, () =>
        this.client.workflow.getHandle(verificationWorkflowId(org, userId, scenario)).query(matchesCode, codeHash),
      );
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    }
  }

  async resend(org: string, userId: string, scenario: Scenario, request: ResendCodeRequest): Promise<ResendCodeResult> {
    const workflowId = verificationWorkflowId(org, userId, scenario);
    return this.update(workflowId, () =>
      this.soon(UPDATE_DEADLINE_MS, () =>
        this.client.workflow.getHandle(workflowId).executeUpdate(resendCode, { args: [request] }),
      ),
    );
  }

  private soon<T>(ms: number, call: () => Promise<T>): Promise<T> {
    return this.client.withDeadline(Date.now() + ms, call);
  }

  /**
   * An Update answers `ended` only when the workflow has really closed. Any other failure
   * while it still runs (an Update aborted under load, a lost connection) is a 503 the caller
   * may retry: treating it as the end would drop a live pending change.
   */
  private async update<T extends { outcome: string }>(
    workflowId: string,
    call: () => Promise<T>,
  ): Promise<T | { outcome: 'ended' }> {
    try {
      return await call();
    } catch (error) {
      if (!(await this.isClosed(workflowId))) {
        throw new UnavailableError(
          'temporal',
          `The verification could not take the request: ${(error as Error).message}`,
        );
      }
      return { outcome: 'ended' };
    }
  }

  private async isClosed(workflowId: string): Promise<boolean> {
    try {
      const description = await this.soon(CALL_DEADLINE_MS, () =>
        this.client.workflow.getHandle(workflowId).describe(),
      );
      return description.status.name !== 'RUNNING';
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return true;
      throw error;
    }
  }
}
