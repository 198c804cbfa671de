import type { Knex } from 'knex';
import { ImproperlyConfigured } from '../core/errors.js';
import type { ModelClass } from '../db/model.js';
import { toDb, type Dialect } from '../db/values.js';

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

/** The row's key text, in JavaScript. */
export function keyText(Model: ModelClass, row: object, dialect: Dialect): string {
  return Model.primaryKey.map((name) => String(toDb(Model.columns[name]!.spec, (row as Record<string, unknown>)[name], dialect))).join('\x1f');
}

/** `<alias>.model_key = <the row's key text>` as SQL with identifier bindings, for anti-joins. */
export function keyTextMatches(query: Knex.QueryBuilder, column: string, Model: ModelClass, dialect: Dialect): Knex.QueryBuilder {
  const separator = dialect === 'sqlite' ? ' || char(31) || ' : ' || chr(31) || ';
  const expression = Model.primaryKey.map(() => 'CAST(?? AS TEXT)').join(separator);
  return query.andWhereRaw(`?? = ${expression}`, [column, ...Model.primaryKey.map((name) => `${Model.table}.${name}`)]);
}
