import type { Knex } from 'knex';

/**
 * Replaces `corral_alerted` with the table an older corral created: a numbered `id`
 * and a unique index on (alert, model_table, model_key), where corral now keys the
 * table by those three columns (WITHOUT ROWID on SQLite). Databases made before that
 * change keep their table, and corral must go on working with it.
 */
export async function recreateOldAlertedTable(knex: Knex, dialect: 'sqlite' | 'postgres'): Promise<void> {
  await knex.schema.dropTable('corral_alerted');
  await knex.schema.createTable('corral_alerted', (table) => {
    table.increments('id', { primaryKey: true });
    table.string('alert', 200).notNullable();
    table.string('model_table', 200).notNullable();
    table.text('model_key').notNullable();
    table.specificType('created_at', dialect === 'postgres' ? 'timestamptz' : 'datetime').notNullable();
    table.unique(['alert', 'model_table', 'model_key']);
  });
}
