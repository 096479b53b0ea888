import { DataTypes, QueryInterface } from 'sequelize';

/**
 * An audit row written by a workflow step carries a key naming that step (change, event,
 * counter), so that a step run twice (a local activity repeated after a lost workflow task)
 * leaves one row, not two.
 */
export async function up({ context: q }: { context: QueryInterface }) {
  await q.addColumn('audit_events', 'dedupe_key', { type: DataTypes.TEXT, allowNull: true });
  await q.addIndex('audit_events', ['dedupe_key'], { unique: true, name: 'audit_events_dedupe_key' });
}

export async function down({ context: q }: { context: QueryInterface }) {
  await q.removeIndex('audit_events', 'audit_events_dedupe_key');
  await q.removeColumn('audit_events', 'dedupe_key');
}
