import { DataTypes, QueryInterface } from 'sequelize';

/** Users, their pending changes, accepted codes (as keyed hashes), audit rows and org policies. */
export async function up({ context: q }: { context: QueryInterface }) {
  // User ids are ours (UUIDs) but arrive from paths and token subjects as any string: TEXT
  // columns make a foreign id a simple miss (404), never a cast error.
  await q.createTable('users', {
    id: { type: DataTypes.TEXT, primaryKey: true },
    org: { type: DataTypes.TEXT, allowNull: false },
    user_name: { type: DataTypes.TEXT, allowNull: false },
    user_name_lower: { type: DataTypes.TEXT, allowNull: false },
    // Sealed (encrypted) JSON: the user's phone numbers are personal data.
    doc: { type: DataTypes.TEXT, allowNull: false },
    phone_verified: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    version: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await q.addIndex('users', ['org', 'user_name_lower'], { unique: true, name: 'users_org_user_name' });

  await q.createTable('pending_changes', {
    id: { type: DataTypes.UUID, primaryKey: true },
    org: { type: DataTypes.TEXT, allowNull: false },
    user_id: {
      type: DataTypes.TEXT,
      allowNull: false,
      references: { model: 'users', key: 'id' },
      onDelete: 'CASCADE',
    },
    scenario: { type: DataTypes.TEXT, allowNull: false },
    number: { type: DataTypes.TEXT, allowNull: false }, // sealed
    also_verified_list: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    workflow_id: { type: DataTypes.TEXT, allowNull: false },
    request_id: { type: DataTypes.TEXT, allowNull: false },
    expires_at: { type: DataTypes.DATE, allowNull: false },
    created_at: { type: DataTypes.DATE, allowNull: false },
  });
  await q.addIndex('pending_changes', ['org', 'user_id', 'scenario'], {
    unique: true,
    name: 'pending_one_per_scenario',
  });

  await q.createTable('accepted_codes', {
    change_id: { type: DataTypes.UUID, primaryKey: true },
    org: { type: DataTypes.TEXT, allowNull: false },
    user_id: { type: DataTypes.TEXT, allowNull: false },
    scenario: { type: DataTypes.TEXT, allowNull: false },
    number: { type: DataTypes.TEXT, allowNull: false }, // sealed
    code_hash: { type: DataTypes.TEXT, allowNull: false },
    accepted_until: { type: DataTypes.DATE, allowNull: false },
    created_at: { type: DataTypes.DATE, allowNull: false },
  });
  await q.addIndex('accepted_codes', ['org', 'user_id', 'scenario'], { name: 'accepted_by_user' });

  await q.createTable('audit_events', {
    id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
    org: { type: DataTypes.TEXT, allowNull: false },
    user_id: { type: DataTypes.TEXT, allowNull: false },
    scenario: { type: DataTypes.TEXT },
    event: { type: DataTypes.TEXT, allowNull: false },
    masked_number: { type: DataTypes.TEXT },
    actor: { type: DataTypes.TEXT },
    change_id: { type: DataTypes.UUID },
    request_id: { type: DataTypes.TEXT },
    detail: { type: DataTypes.JSONB },
    at: { type: DataTypes.DATE, allowNull: false },
  });
  await q.addIndex('audit_events', ['org', 'user_id', 'at'], { name: 'audit_by_user' });

  await q.createTable('org_policies', {
    org: { type: DataTypes.TEXT, primaryKey: true },
    overrides: { type: DataTypes.JSONB, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
}

export async function down({ context: q }: { context: QueryInterface }) {
  for (const table of ['org_policies', 'audit_events', 'accepted_codes', 'pending_changes', 'users']) {
    await q.dropTable(table);
  }
}
