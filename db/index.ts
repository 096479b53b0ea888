import { DataTypes, InferAttributes, InferCreationAttributes, Model, Sequelize, Transaction } from 'sequelize';
import { SequelizeStorage, Umzug } from 'umzug';
import * as initial from './migrations/0001-initial';
import { DataKey, open, seal, useDataKeys } from './sealed';
import * as smsSends from './migrations/0002-sms-sends';
import * as auditDedupe from './migrations/0003-audit-dedupe';

/** Migrations in order; each module exports `up` and `down`. */
const MIGRATIONS = [
  { name: '0001-initial', module: initial },
  { name: '0002-sms-sends', module: smsSends },
  { name: '0003-audit-dedupe', module: auditDedupe },
];

export class UserRow extends Model<InferAttributes<UserRow>, InferCreationAttributes<UserRow>> {
  declare id: string;
  declare org: string;
  declare userName: string;
  declare userNameLower: string;
  declare doc: Record<string, unknown>;
  declare phoneVerified: boolean;
  declare version: number;
  declare createdAt: Date;
  declare updatedAt: Date;
}

export class PendingChangeRow extends Model<
  InferAttributes<PendingChangeRow>,
  InferCreationAttributes<PendingChangeRow>
> {
  declare id: string;
  declare org: string;
  declare userId: string;
  declare scenario: string;
  declare number: string;
  declare alsoVerifiedList: boolean;
  declare workflowId: string;
  declare requestId: string;
  declare expiresAt: Date;
  declare createdAt: Date;
}

export class AcceptedCodeRow extends Model<InferAttributes<AcceptedCodeRow>, InferCreationAttributes<AcceptedCodeRow>> {
  declare changeId: string;
  declare org: string;
  declare userId: string;
  declare scenario: string;
  declare number: string;
  declare codeHash: string;
  declare acceptedUntil: Date;
  declare createdAt: Date;
}

export class AuditEventRow extends Model<InferAttributes<AuditEventRow>, InferCreationAttributes<AuditEventRow>> {
  declare id?: number;
  declare org: string;
  declare userId: string;
  declare scenario: string | null;
  declare event: string;
  declare maskedNumber: string | null;
  declare actor: string | null;
  declare changeId: string | null;
  declare requestId: string | null;
  declare detail: Record<string, unknown> | null;
  declare dedupeKey?: string | null;
  declare at: Date;
}

export class SmsSendRow extends Model<InferAttributes<SmsSendRow>, InferCreationAttributes<SmsSendRow>> {
  declare id?: number;
  declare org: string;
  declare userId: string;
  declare changeId: string;
  declare at: Date;
}

export class OrgPolicyRow extends Model<InferAttributes<OrgPolicyRow>, InferCreationAttributes<OrgPolicyRow>> {
  declare org: string;
  declare overrides: Record<string, unknown>;
  declare updatedAt: Date;
}

export interface SmsQuota {
  perUserPerHour: number;
  perOrgPerHour: number;
}

/**
 * Seconds until the hourly SMS caps let one more message through for this user, or 0 if one
 * may go now. Counted from the sends of the last hour.
 */
export async function smsWait(
  sequelize: Sequelize,
  org: string,
  userId: string,
  quota: SmsQuota,
  tx?: Transaction,
): Promise<number> {
  const [rows] = await sequelize.query(
    `SELECT count(*) FILTER (WHERE user_id = :userId)::int AS by_user,
            count(*)::int AS by_org,
            min(at) FILTER (WHERE user_id = :userId) AS user_oldest,
            min(at) AS org_oldest
       FROM sms_sends WHERE org = :org AND at > now() - interval '1 hour'`,
    { replacements: { org, userId }, transaction: tx },
  );
  const r = (rows as { by_user: number; by_org: number; user_oldest: Date | null; org_oldest: Date | null }[])[0]!;
  const until = (oldest: Date | null) =>
    oldest ? Math.max(1, Math.ceil((oldest.getTime() + 3_600_000 - Date.now()) / 1000)) : 1;
  if (r.by_user >= quota.perUserPerHour) return until(r.user_oldest);
  if (r.by_org >= quota.perOrgPerHour) return until(r.org_oldest);
  return 0;
}

/** A phone number column, sealed at rest (see ./sealed). */
function sealedNumber() {
  return {
    type: DataTypes.TEXT,
    get(this: Model) {
      return open(this.getDataValue('number'));
    },
    set(this: Model, value: string) {
      this.setDataValue('number', seal(value));
    },
  };
}

export interface Database {
  sequelize: Sequelize;
  close(): Promise<void>;
}

/** Connects and defines the models; `migrate` brings the schema up to date. */
export function connectDatabase(url: string, opts: { poolMax?: number; dataKeys?: DataKey[] } = {}): Database {
  if (opts.dataKeys) useDataKeys(opts.dataKeys);
  const sequelize = new Sequelize(url, {
    dialect: 'postgres',
    logging: false,
    pool: { max: opts.poolMax ?? 20, min: 0, idle: 10_000, acquire: 10_000 },
    define: { underscored: true, freezeTableName: true },
  });
  const common = { sequelize, underscored: true };
  UserRow.init(
    {
      id: { type: DataTypes.TEXT, primaryKey: true },
      org: DataTypes.TEXT,
      userName: DataTypes.TEXT,
      userNameLower: DataTypes.TEXT,
      doc: {
        type: DataTypes.TEXT,
        get(this: UserRow) {
          return JSON.parse(open(this.getDataValue('doc') as unknown as string));
        },
        set(this: UserRow, value: Record<string, unknown>) {
          this.setDataValue('doc', seal(JSON.stringify(value)) as never);
        },
      },
      phoneVerified: DataTypes.BOOLEAN,
      version: DataTypes.INTEGER,
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { ...common, tableName: 'users', timestamps: false },
  );
  PendingChangeRow.init(
    {
      id: { type: DataTypes.UUID, primaryKey: true },
      org: DataTypes.TEXT,
      userId: DataTypes.TEXT,
      scenario: DataTypes.TEXT,
      number: sealedNumber(),
      alsoVerifiedList: DataTypes.BOOLEAN,
      workflowId: DataTypes.TEXT,
      requestId: DataTypes.TEXT,
      expiresAt: DataTypes.DATE,
      createdAt: DataTypes.DATE,
    },
    { ...common, tableName: 'pending_changes', timestamps: false },
  );
  AcceptedCodeRow.init(
    {
      changeId: { type: DataTypes.UUID, primaryKey: true },
      org: DataTypes.TEXT,
      userId: DataTypes.TEXT,
      scenario: DataTypes.TEXT,
      number: sealedNumber(),
      codeHash: DataTypes.TEXT,
      acceptedUntil: DataTypes.DATE,
      createdAt: DataTypes.DATE,
    },
    { ...common, tableName: 'accepted_codes', timestamps: false },
  );
  AuditEventRow.init(
    {
      id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
      org: DataTypes.TEXT,
      userId: DataTypes.TEXT,
      scenario: DataTypes.TEXT,
      event: DataTypes.TEXT,
      maskedNumber: DataTypes.TEXT,
      actor: DataTypes.TEXT,
      changeId: DataTypes.UUID,
      requestId: DataTypes.TEXT,
      detail: DataTypes.JSONB,
      dedupeKey: DataTypes.TEXT,
      at: DataTypes.DATE,
    },
    { ...common, tableName: 'audit_events', timestamps: false },
  );
  SmsSendRow.init(
    {
      id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
      org: DataTypes.TEXT,
      userId: DataTypes.TEXT,
      changeId: DataTypes.UUID,
      at: DataTypes.DATE,
    },
    { ...common, tableName: 'sms_sends', timestamps: false },
  );
  OrgPolicyRow.init(
    {
      org: { type: DataTypes.TEXT, primaryKey: true },
      overrides: DataTypes.JSONB,
      updatedAt: DataTypes.DATE,
    },
    { ...common, tableName: 'org_policies', timestamps: false },
  );
  return { sequelize, close: () => sequelize.close() };
}

export async function migrate(db: Database): Promise<string[]> {
  const umzug = new Umzug({
    migrations: MIGRATIONS.map(({ name, module }) => ({ name, up: module.up, down: module.down })),
    context: db.sequelize.getQueryInterface(),
    storage: new SequelizeStorage({ sequelize: db.sequelize, tableName: 'schema_migrations' }),
    logger: undefined,
  });
  // Two processes starting at once (API and worker) must not both migrate.
  return db.sequelize.transaction(async (tx: Transaction) => {
    await db.sequelize.query('SELECT pg_advisory_xact_lock(4242001)', { transaction: tx });
    const done = await umzug.up();
    return done.map((m) => m.name);
  });
}

export interface AuditEntry {
  org: string;
  userId: string;
  scenario?: string | null;
  changeId?: string | null;
  requestId?: string | null;
  event: string;
  maskedNumber?: string | null;
  actor?: string | null;
  detail?: Record<string, unknown> | null;
  /** Names a workflow step; a second row for the same step is not written. */
  dedupeKey?: string;
}

/** Audit rows hold masked numbers only, never codes. */
export async function audit(tx: Transaction, entry: AuditEntry): Promise<void> {
  const row = {
    org: entry.org,
    userId: entry.userId,
    scenario: entry.scenario ?? null,
    event: entry.event,
    maskedNumber: entry.maskedNumber ?? null,
    actor: entry.actor ?? null,
    changeId: entry.changeId ?? null,
    requestId: entry.requestId ?? null,
    detail: entry.detail ?? null,
    dedupeKey: entry.dedupeKey ?? null,
    at: new Date(),
  };
  // ON CONFLICT DO NOTHING: a step audited twice keeps its first row.
  await AuditEventRow.bulkCreate([row], { transaction: tx, ignoreDuplicates: true });
}
