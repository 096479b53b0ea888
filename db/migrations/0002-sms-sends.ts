import { DataTypes, QueryInterface } from 'sequelize';

/** One row per SMS sent (no number, no text): what the hourly caps per user and org count. */
export async function up({ context: q }: { context: QueryInterface }) {
  await q.createTable('sms_sends', {
    id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
    org: { type: DataTypes.TEXT, allowNull: false },
    user_id: { type: DataTypes.TEXT, allowNull: false },
    change_id: { type: DataTypes.UUID, allowNull: false },
    at: { type: DataTypes.DATE, allowNull: false },
  });
  await q.addIndex('sms_sends', ['org', 'at'], { name: 'sms_sends_by_org' });
  await q.addIndex('sms_sends', ['org', 'user_id', 'at'], { name: 'sms_sends_by_user' });
}

export async function down({ context: q }: { context: QueryInterface }) {
  await q.dropTable('sms_sends');
}
