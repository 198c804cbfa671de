import type { Knex } from 'knex';
import { ImproperlyConfigured } from '../../core/errors.js';
import type { ModelClass } from '../model.js';
import type { Store } from '../store/store.js';

const KEY_KINDS = new Set(['integer', 'bigint', 'string', 'text']);

/**
 * Framework tables (alerted rows, failures) name a row by its primary key as text,
 * written the way SQL's CAST(key AS TEXT) writes it so an anti-join can find it.
 * Only integer and string keys have the same text in JavaScript and in both databases.
 */
export function checkKeyKinds(owner: string, Model: ModelClass): void {
  const odd = Model.primaryKey.find((name) => !KEY_KINDS.has(Model.columns[name]!.spec.kind));
  if (odd) {
    throw new ImproperlyConfigured(
      `${owner} works on ${Model.name}, whose primary key column '${odd}' is a ${Model.columns[odd]!.spec.kind}; corral remembers rows by integer or string keys`,
      { hint: `Give ${Model.name} an integer id primary key (and make '${odd}' unique instead)` },
    );
  }
}

/**
 * The row's key text, in JavaScript: the key values joined by the unit separator
 * (U+001F). Integer and string values are stored as they are on both databases.
 */
export function keyText(Model: ModelClass, row: object): string {
  return Model.primaryKey.map((name) => String((row as Record<string, unknown>)[name] ?? null)).join('\x1f');
}

/** `<alias>.model_key = <the row's key text>` as SQL with identifier bindings, for anti-joins; the store writes the expression. */
export function keyTextMatches(query: Knex.QueryBuilder, column: string, Model: ModelClass, store: Pick<Store, 'keyTextSql'>): Knex.QueryBuilder {
  return query.andWhereRaw(`?? = ${store.keyTextSql(Model.primaryKey.length)}`, [column, ...Model.primaryKey.map((name) => `${Model.table}.${name}`)]);
}
