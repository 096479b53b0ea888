import { randomUUID } from 'node:crypto';
import { Op, Transaction, UniqueConstraintError } from 'sequelize';
import { Database, PendingChangeRow, UserRow, audit, smsWait } from '../db';
import { isVerifiedNumber, listsOf, primaryMobileOf } from '../domain/claims';
import { ScimError } from '../domain/errors';
import { indexOfNumber, maskNumber } from '../domain/numbers';
import { Policy } from '../domain/policy';
import { UserDoc, checkResource, readResource } from '../domain/resource';
import { Scenario, verificationWorkflowId } from '../domain/scenarios';
import { Decision, decide } from '../domain/verification';
import type { CodePolicy, VerificationInput } from '../workflows/messages';
import { verificationsFinished, verificationsStarted } from '../lib/metrics';
import type { PolicyStore } from './policies';
import { etagOf } from './representation';
import type { Verifications } from './temporal';

export interface ChangeRequest {
  org: string;
  userId: string;
  via: 'admin' | 'self';
  actor: string;
  requestId: string;
  ifMatch?: string;
  /** Computes the user the request asks for: the PATCH engine, or the PUT body. */
  compute(current: UserDoc): { next: UserDoc; touched: Set<string> | 'all' };
}

export interface StoredUser {
  user: UserRow;
  pending: PendingChangeRow[];
}

const notFound = (userId: string) => new ScimError(404, undefined, `User ${userId} not found`);

export function codePolicyOf(policy: Policy): CodePolicy {
  const { enabled: _e, multipleNumbers: _m, allowAdminBypass: _a, ...forTheWorkflow } = policy;
  return forTheWorkflow;
}

/**
 * Requests for the same user run one after another in this process before they take a
 * database connection, so a burst on one user waits in memory instead of holding the pool
 * that every other user needs. Across processes, the user's row lock still orders them.
 */
class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

/** Users and their pending changes: the API's writes, each in one transaction. */
export class Users {
  private readonly queue = new KeyedQueue();

  constructor(
    private readonly db: Database,
    private readonly verifications: Verifications,
    private readonly policies: PolicyStore,
  ) {}

  async get(org: string, userId: string): Promise<StoredUser> {
    const user = await UserRow.findOne({ where: { id: userId, org } });
    if (!user) throw notFound(userId);
    return { user, pending: await this.pendingOf(org, userId) };
  }

  private pendingOf(org: string, userId: string, tx?: Transaction) {
    return PendingChangeRow.findAll({
      where: { org, userId, expiresAt: { [Op.gt]: new Date() } },
      order: [['scenario', 'ASC']],
      transaction: tx,
    });
  }

  /** Every user of the org with their pending changes, oldest first. */
  async all(org: string): Promise<StoredUser[]> {
    const [users, pending] = await Promise.all([
      UserRow.findAll({
        where: { org },
        order: [
          ['createdAt', 'ASC'],
          ['id', 'ASC'],
        ],
      }),
      PendingChangeRow.findAll({ where: { org, expiresAt: { [Op.gt]: new Date() } }, order: [['scenario', 'ASC']] }),
    ]);
    return users.map((user) => ({ user, pending: pending.filter((p) => p.userId === user.id) }));
  }

  /** DELETE: the user, their pending changes (cascade) and their running verifications. */
  remove(org: string, userId: string, actor: string, requestId: string, ifMatch?: string): Promise<void> {
    return this.queue.run(`${org}/${userId}`, () => this.removeNow(org, userId, actor, requestId, ifMatch));
  }

  private async removeNow(
    org: string,
    userId: string,
    actor: string,
    requestId: string,
    ifMatch?: string,
  ): Promise<void> {
    await this.db.sequelize
      .transaction(async (tx) => {
        const user = await UserRow.findOne({ where: { id: userId, org }, lock: tx.LOCK.UPDATE, transaction: tx });
        if (!user) throw notFound(userId);
        checkIfMatch(ifMatch, user);
        const pending = await PendingChangeRow.findAll({ where: { org, userId }, transaction: tx });
        await user.destroy({ transaction: tx });
        for (const row of pending) {
          await audit(tx, {
            org,
            userId,
            scenario: row.scenario,
            changeId: row.id,
            requestId,
            event: 'cancelled',
            maskedNumber: maskNumber(row.number),
            actor,
          });
        }
        await audit(tx, { org, userId, event: 'deleted', actor, requestId });
        for (const row of pending)
          await this.verifications.end(org, userId, row.scenario as Scenario, 'cancel', { requestId });
        return pending;
      })
      .then((ended) =>
        ended.forEach((row) => verificationsFinished.inc({ scenario: row.scenario, status: 'cancelled' })),
      );
  }

  /**
   * POST /Users: provisioning is trusted, numbers are stored as given, and numbers in
   * `verifiedMobileNumbers` are recorded as verified.
   */
  async create(org: string, body: unknown, actor: string, requestId: string): Promise<StoredUser> {
    const doc = withoutPassword(readResource(body));
    checkResource(doc);
    delete (doc['urn:scim:wso2:schema'] as Record<string, unknown> | undefined)?.verifyMobile;
    const lists = listsOf(doc);
    const policy = await this.policies.get(org);
    if (!policy.multipleNumbers && (lists.mobileNumbers.length > 0 || lists.verifiedMobileNumbers.length > 0)) {
      throw new ScimError(
        400,
        'invalidValue',
        'This organization keeps a single mobile number: mobileNumbers and verifiedMobileNumbers are not accepted',
      );
    }
    const now = new Date();
    const userName = doc.userName as string;
    try {
      const user = await this.db.sequelize.transaction(async (tx) => {
        const row = await UserRow.create(
          {
            id: randomUUID(),
            org,
            userName,
            userNameLower: userName.toLowerCase(),
            doc: withListsClosed(doc),
            phoneVerified: isVerifiedNumber(doc, primaryMobileOf(doc)),
            version: 1,
            createdAt: now,
            updatedAt: now,
          },
          { transaction: tx },
        );
        await audit(tx, { org, userId: row.id, event: 'created', actor, requestId });
        return row;
      });
      return { user, pending: [] };
    } catch (error) {
      if (error instanceof UniqueConstraintError) throw userNameTaken(userName);
      throw error;
    }
  }

  /**
   * PUT and PATCH, for /Users/{id} and /Me alike: the engine computes the asked-for user, the
   * rules decide what is committed and what is held pending, and everything (the user row, the
   * pending rows, the audit rows, the workflows it starts or ends) happens under the user's row
   * lock in one transaction, so concurrent requests for one user line up.
   */
  change(request: ChangeRequest): Promise<StoredUser> {
    return this.queue.run(`${request.org}/${request.userId}`, () => this.changeNow(request));
  }

  private async changeNow(request: ChangeRequest): Promise<StoredUser> {
    const { org, userId, requestId } = request;
    try {
      const result = await this.db.sequelize.transaction(async (tx) => {
        const user = await UserRow.findOne({ where: { id: userId, org }, lock: tx.LOCK.UPDATE, transaction: tx });
        if (!user) throw notFound(userId);
        checkIfMatch(request.ifMatch, user);
        const pending = await PendingChangeRow.findAll({ where: { org, userId }, transaction: tx });
        const policy = await this.policies.get(org, tx);
        const computed = request.compute(structuredClone(user.doc));
        const next = withoutPassword(computed.next);
        const touched = computed.touched;
        checkResource(next);

        const decision = decide({
          stored: { doc: user.doc, phoneVerified: user.phoneVerified },
          pending: pending.map((p) => ({ scenario: p.scenario as Scenario, number: p.number })),
          next,
          touched,
          policy,
          via: request.via,
        });

        const { ends, starts } = await this.recordPendingChanges(tx, request, decision, pending, policy);

        const doc = withListsClosed(decision.doc);
        // Starting or ending a pending change is a new version too: the representation
        // (pendingMobileNumber) differs, and If-Match must see it.
        const changed =
          JSON.stringify(doc) !== JSON.stringify(user.doc) ||
          decision.phoneVerified !== user.phoneVerified ||
          ends.length > 0 ||
          starts.length > 0;
        if (changed) {
          const userName = doc.userName as string;
          await user.update(
            {
              doc,
              userName,
              userNameLower: userName.toLowerCase(),
              phoneVerified: decision.phoneVerified,
              version: user.version + 1,
              updatedAt: new Date(),
            },
            { transaction: tx },
          );
        }

        // The workflows are ended and started before the commit, while the row lock keeps
        // other requests for this user out. A new workflow's first step waits for this
        // transaction and texts nobody if it rolls back.
        for (const end of ends) await this.verifications.end(org, userId, end.scenario, end.how, { requestId });
        for (const input of starts) await this.verifications.start(input);

        return { user, pending: await this.pendingOf(org, userId, tx), ends, starts };
      });
      for (const end of result.ends)
        verificationsFinished.inc({
          scenario: end.scenario,
          status: end.how === 'cancel' ? 'cancelled' : 'superseded',
        });
      for (const start of result.starts) verificationsStarted.inc({ scenario: start.scenario });
      return { user: result.user, pending: result.pending };
    } catch (error) {
      if (error instanceof UniqueConstraintError) throw userNameTaken('');
      throw error;
    }
  }

  /**
   * Writes what the rules decided about pending changes: cancelled and superseded rows go,
   * new rows come, each with its audit row. Returns the workflows to end and to start.
   */
  private async recordPendingChanges(
    tx: Transaction,
    request: ChangeRequest,
    decision: Decision,
    pending: PendingChangeRow[],
    policy: Policy,
  ) {
    const { org, userId, requestId, actor } = request;
    const ends: { scenario: Scenario; how: 'supersede' | 'cancel' }[] = [];
    const starts: VerificationInput[] = [];
    const byScenario = (s: string) => pending.find((p) => p.scenario === s);

    for (const scenario of decision.cancel) {
      const row = byScenario(scenario);
      if (!row) continue;
      await row.destroy({ transaction: tx });
      await audit(tx, {
        org,
        userId,
        scenario,
        changeId: row.id,
        requestId,
        event: 'cancelled',
        maskedNumber: maskNumber(row.number),
        actor,
      });
      ends.push({ scenario, how: 'cancel' });
    }
    if (decision.start.length > 0) {
      const wait = await smsWait(
        this.db.sequelize,
        org,
        userId,
        { perUserPerHour: policy.smsPerUserPerHour, perOrgPerHour: policy.smsPerOrgPerHour },
        tx,
      );
      if (wait > 0)
        throw new ScimError(429, undefined, `Too many SMS for this user or organization; try again in ${wait} s`, wait);
    }
    for (const start of decision.start) {
      const previous = byScenario(start.scenario);
      if (previous && !decision.cancel.includes(start.scenario)) {
        await previous.destroy({ transaction: tx });
        await audit(tx, {
          org,
          userId,
          scenario: start.scenario,
          changeId: previous.id,
          requestId,
          event: 'superseded',
          maskedNumber: maskNumber(previous.number),
          actor,
        });
        ends.push({ scenario: start.scenario, how: 'supersede' });
      }
      const changeId = randomUUID();
      const now = new Date();
      await PendingChangeRow.create(
        {
          id: changeId,
          org,
          userId,
          scenario: start.scenario,
          number: start.number,
          alsoVerifiedList: start.alsoVerifiedList,
          workflowId: verificationWorkflowId(org, userId, start.scenario),
          requestId,
          expiresAt: new Date(now.getTime() + policy.pendingTtl * 1000),
          createdAt: now,
        },
        { transaction: tx },
      );
      await audit(tx, {
        org,
        userId,
        scenario: start.scenario,
        changeId,
        requestId,
        event: 'started',
        maskedNumber: maskNumber(start.number),
        actor,
      });
      starts.push({
        org,
        userId,
        scenario: start.scenario,
        changeId,
        number: start.number,
        maskedNumber: maskNumber(start.number),
        policy: codePolicyOf(policy),
        requestId,
      });
    }
    if (decision.bypassed) {
      await audit(tx, {
        org,
        userId,
        event: 'bypassed',
        maskedNumber: maskNumber(primaryMobileOf(decision.doc) ?? ''),
        actor,
        requestId,
      });
    }

    return { ends, starts };
  }
}

/**
 * This service does not sign anybody in: a password that provisioning clients send along is
 * accepted (SCIM allows it) and dropped, never stored.
 */
function withoutPassword(doc: UserDoc): UserDoc {
  if (!('password' in doc)) return doc;
  const { password: _password, ...rest } = doc;
  return rest;
}

/** If-Match (RFC 7232): `*`, or a list of entity tags one of which is the current version. */
function checkIfMatch(ifMatch: string | undefined, user: UserRow) {
  if (!ifMatch || ifMatch.trim() === '*') return;
  const tags = ifMatch.split(',').map((t) => t.trim());
  if (!tags.includes(etagOf(user))) {
    throw new ScimError(412, undefined, `The user is at version ${etagOf(user)}, not ${ifMatch}; fetch it again`);
  }
}

function userNameTaken(userName: string) {
  return new ScimError(
    409,
    'uniqueness',
    `userName ${userName ? `"${userName}" ` : ''}is already taken in this organization`,
  );
}

/** Verified numbers are always on the mobile list too. */
function withListsClosed(doc: UserDoc): UserDoc {
  const lists = listsOf(doc);
  if (lists.verifiedMobileNumbers.length === 0) return doc;
  const copy = structuredClone(doc);
  const ext = copy['urn:scim:wso2:schema'] as Record<string, unknown>;
  const mobile = [...lists.mobileNumbers];
  for (const n of lists.verifiedMobileNumbers) if (indexOfNumber(mobile, n) < 0) mobile.push(n);
  ext.mobileNumbers = mobile;
  return copy;
}
