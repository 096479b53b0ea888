import { Sequelize, Transaction } from 'sequelize';
import { OrgPolicyRow } from '../db';
import { Policy, PolicyOverride, effectivePolicy } from '../domain/policy';
import { ScimError } from '../domain/errors';

/** Per-org policy overrides in Postgres; verifications keep the policy they started with. */
export class PolicyStore {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly defaults: Policy,
    private readonly providers: string[],
  ) {}

  async get(org: string, tx?: Transaction): Promise<Policy> {
    const row = await OrgPolicyRow.findByPk(org, { transaction: tx });
    return effectivePolicy(this.defaults, row?.overrides as PolicyOverride | undefined);
  }

  /** Read, merge and write under a per-org lock: two PATCHes at once both take effect. */
  async patch(org: string, change: PolicyOverride): Promise<Policy> {
    if (change.smsProvider && !this.providers.includes(change.smsProvider)) {
      throw new ScimError(
        400,
        'invalidValue',
        `smsProvider ${change.smsProvider} is not configured here (configured: ${this.providers.join(', ')})`,
      );
    }
    return this.sequelize.transaction(async (tx) => {
      await this.sequelize.query('SELECT pg_advisory_xact_lock(hashtext(:key))', {
        replacements: { key: `policy:${org}` },
        transaction: tx,
      });
      const row = await OrgPolicyRow.findByPk(org, { transaction: tx });
      const overrides = { ...((row?.overrides as PolicyOverride | undefined) ?? {}), ...change };
      let policy: Policy;
      try {
        policy = effectivePolicy(this.defaults, overrides);
      } catch (error) {
        throw new ScimError(400, 'invalidValue', (error as Error).message);
      }
      await OrgPolicyRow.upsert({ org, overrides, updatedAt: new Date() }, { transaction: tx });
      return policy;
    });
  }
}
