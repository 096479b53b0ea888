import { Op } from 'sequelize';
import { z } from 'zod';
import { AcceptedCodeRow, PendingChangeRow } from '../db';
import { hashCode, sameHash } from '../domain/codes';
import { IdentityError } from '../domain/errors';
import { Scenario, isScenario } from '../domain/scenarios';
import type { Logger } from '../lib/logger';
import type { Verifications } from './temporal';

const property = z.object({ key: z.string().max(100), value: z.string().max(200) });
/** Whatever the org's policy, a code is 4 to 10 ASCII letters or digits; anything else is no try. */
const validateBody = z.object({
  code: z.string().regex(/^\s*[0-9A-Za-z]{4,10}\s*$/, 'a code is 4 to 10 letters or digits'),
  properties: z.array(property).max(10).optional(),
});
const resendBody = z.object({ properties: z.array(property).max(10).optional() });

const malformed = (detail: string) => new IdentityError(400, 'UAR-10000', 'Invalid request', detail);
const nothingPending = (detail: string) => new IdentityError(400, 'UAR-10011', 'No pending verification', detail);

/** The `RecoveryScenario` property, if given; an unknown scenario is UAR-10011. */
function scenarioOf(properties: { key: string; value: string }[] | undefined): Scenario | undefined {
  const entry = properties?.find((p) => p.key === 'RecoveryScenario');
  if (!entry) return undefined;
  if (!isScenario(entry.value)) throw nothingPending(`Unknown scenario "${entry.value}"`);
  return entry.value;
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw malformed(parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  }
  return parsed.data;
}

export interface CodeCaller {
  org: string;
  userId: string;
  requestId: string;
}

/** validate-code and resend-code: the caller is always the token's subject. */
export class Codes {
  constructor(
    private readonly verifications: Verifications,
    private readonly codeHashKey: Buffer,
    private readonly logger: Logger,
  ) {}

  private pending(caller: CodeCaller, scenario: Scenario | undefined) {
    return PendingChangeRow.findAll({
      where: {
        org: caller.org,
        userId: caller.userId,
        expiresAt: { [Op.gt]: new Date() },
        ...(scenario ? { scenario } : {}),
      },
      order: [['scenario', 'ASC']],
    });
  }

  async validate(caller: CodeCaller, body: unknown): Promise<{ scenario: Scenario; mobile: string }> {
    const { code, properties } = parse(validateBody, body);
    const scenario = scenarioOf(properties);
    const all = await this.pending(caller, scenario);
    // A retried request after a lost response: the accepted code is accepted again, unless a
    // newer change of its scenario is pending now.
    const retried = await this.alreadyAccepted(caller, scenario, code, new Set(all.map((r) => r.scenario)));
    if (retried) return retried;
    if (all.length === 0) this.noneFor(scenario);

    // Without a scenario and with two changes pending, the code goes to the change it matches;
    // if it matches neither, it is a miss against both: not naming the scenario gains nothing.
    let rows = all;
    if (all.length > 1) {
      const matching = [];
      for (const row of all) {
        if (
          await this.verifications.matches(
            caller.org,
            caller.userId,
            row.scenario as Scenario,
            hashCode(this.codeHashKey, row.id, code),
          )
        )
          matching.push(row);
      }
      if (matching.length > 0) rows = matching;
    }
    const outcomes = await Promise.all(
      rows.map(async (row) => ({
        row,
        result: await this.verifications.validate(caller.org, caller.userId, row.scenario as Scenario, {
          changeId: row.id,
          codeHash: hashCode(this.codeHashKey, row.id, code),
          requestId: caller.requestId,
        }),
      })),
    );
    const verified = outcomes.find((o) => o.result.outcome === 'verified');
    if (verified && verified.result.outcome === 'verified')
      return { scenario: verified.row.scenario as Scenario, mobile: verified.result.number };
    if (outcomes.some((o) => o.result.outcome === 'locked')) {
      throw new IdentityError(
        429,
        'MV-42901',
        'Too many wrong codes',
        'The verification ended after too many wrong codes; change the number again to start over',
      );
    }
    const wrong = outcomes.flatMap((o) => (o.result.outcome === 'wrong' ? [o.result.triesLeft] : []));
    if (wrong.length > 0) {
      const left = Math.min(...wrong);
      const description =
        left === 0
          ? 'The code is not valid, and it takes no more tries; ask for a new one with resend-code'
          : `The code is not valid; ${left} ${left === 1 ? 'try' : 'tries'} left`;
      throw new IdentityError(400, '18001', 'Invalid code', description);
    }
    if (outcomes.some((o) => o.result.outcome === 'expired')) {
      throw new IdentityError(400, '18002', 'Expired code', 'The code has expired; ask for a new one with resend-code');
    }
    // Every change ended while the request was on its way (committed by a parallel request?).
    const accepted = await this.alreadyAccepted(caller, scenario, code, new Set());
    if (accepted) return accepted;
    await this.dropOrphans(rows);
    return this.noneFor(scenario);
  }

  /**
   * Pending rows whose workflow has ended without taking them along (the API died between
   * ending an old workflow and committing): nothing can verify them any more, so they go.
   */
  private async dropOrphans(rows: PendingChangeRow[]) {
    const dropped = await PendingChangeRow.destroy({ where: { id: rows.map((r) => r.id) } });
    if (dropped > 0)
      this.logger.warn({ dropped, changeIds: rows.map((r) => r.id) }, 'pending changes without a workflow removed');
  }

  /** The accepted code of a change of a scenario with nothing newer pending, while it is valid. */
  private async alreadyAccepted(
    caller: CodeCaller,
    scenario: Scenario | undefined,
    code: string,
    pendingScenarios: Set<string>,
  ) {
    const accepted = (
      await AcceptedCodeRow.findAll({
        where: {
          org: caller.org,
          userId: caller.userId,
          acceptedUntil: { [Op.gt]: new Date() },
          ...(scenario ? { scenario } : {}),
        },
      })
    ).filter((row) => !pendingScenarios.has(row.scenario));
    const match = accepted.find((row) => sameHash(row.codeHash, hashCode(this.codeHashKey, row.changeId, code)));
    return match ? { scenario: match.scenario as Scenario, mobile: match.number } : undefined;
  }

  private noneFor(scenario: Scenario | undefined): never {
    throw nothingPending(scenario ? `Nothing is pending for ${scenario}` : 'Nothing is pending for this user');
  }

  async resend(caller: CodeCaller, body: unknown): Promise<{ scenario: Scenario }> {
    const { properties } = parse(resendBody, body);
    const scenario = scenarioOf(properties);
    const rows = await this.pending(caller, scenario);
    if (rows.length === 0) this.noneFor(scenario);
    if (rows.length > 1) throw nothingPending('Two changes are pending: name the RecoveryScenario');
    const row = rows[0]!;
    const result = await this.verifications.resend(caller.org, caller.userId, row.scenario as Scenario, {
      changeId: row.id,
      requestId: caller.requestId,
    });
    switch (result.outcome) {
      case 'sent':
        return { scenario: row.scenario as Scenario };
      case 'cooldown':
        throw new IdentityError(
          429,
          'MV-42902',
          'Too many requests',
          `Wait ${result.retryAfterSeconds} s before asking for another code`,
          result.retryAfterSeconds,
        );
      case 'limit':
        throw new IdentityError(
          429,
          'MV-42902',
          'Too many requests',
          'No more codes for this change; change the number again to start over',
          result.retryAfterSeconds,
        );
      case 'rate_limited':
        throw new IdentityError(
          429,
          'MV-42902',
          'Too many requests',
          `Too many SMS for this user or organization; try again in ${result.retryAfterSeconds} s`,
          result.retryAfterSeconds,
        );
      case 'send_failed':
        if (result.permanent)
          throw new IdentityError(400, 'MV-40010', 'SMS refused', 'The SMS provider refused this number');
        throw new IdentityError(503, 'MV-50310', 'SMS unavailable', 'The SMS could not be sent; try again shortly', 30);
      default:
        await this.dropOrphans([row]);
        return this.noneFor(scenario);
    }
  }
}
