import { datetime, integer, string } from './columns.js';
import { model } from './model.js';

/**
 * Which row each alert has already announced. One row per (alert, table, key), so
 * an alert finds its new rows with an anti-join instead of loading every id it
 * ever sent (the original kept a growing pickled list).
 */
export class Alerted extends model(
  'corral_alerted',
  {
    id: integer().primaryKey(),
    alert: string(200).notNull(),
    model_table: string(200).notNull(),
    model_key: string(500).notNull(),
    created_at: datetime().notNull(),
  },
  { uniques: [['alert', 'model_table', 'model_key']], description: 'Rows already announced by each alert.' },
) {}

/** Tables corral itself keeps in every pipeline database. */
export const frameworkModels = [Alerted] as const;
