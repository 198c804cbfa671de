/**
 * Column declarations for models. Each builder call returns a new Column, so a
 * declaration reads left to right and carries its TypeScript type:
 *
 *     x: float().notNull()            // number
 *     ra: float()                      // number | null  (nullable is the default, as in SQL)
 *     name_id: integer().notNull().references('Name')
 */

export type ColumnKind = 'integer' | 'bigint' | 'float' | 'string' | 'text' | 'boolean' | 'datetime' | 'json';

/** A foreign key: the referenced model's table (or a thunk returning the model), and its column. */
export interface ForeignKey {
  readonly table: string | (() => { readonly table: string; readonly primaryKey: readonly string[] });
  readonly column: string | undefined;
  readonly onDelete: 'cascade' | 'set null' | 'restrict' | 'no action' | undefined;
}

export interface ColumnSpec {
  readonly kind: ColumnKind;
  /** Maximum length of a `string` column. (Default: 255) */
  readonly length: number;
  readonly primaryKey: boolean;
  readonly nullable: boolean;
  readonly unique: boolean;
  readonly index: boolean;
  readonly hasDefault: boolean;
  readonly defaultValue: unknown;
  readonly references: ForeignKey | undefined;
  readonly description: string | undefined;
}

interface KindTypes {
  integer: number;
  bigint: number;
  float: number;
  string: string;
  text: string;
  boolean: boolean;
  datetime: Date;
  json: unknown;
}

/**
 * A column of TypeScript type `T`; `N` records whether it may hold NULL, which
 * decides the property type on model instances (`T` or `T | null`).
 */
export class Column<T = unknown, N extends boolean = boolean> {
  declare readonly __type: T;
  declare readonly __nullable: N;
  readonly spec: ColumnSpec;

  constructor(spec: ColumnSpec) {
    this.spec = Object.freeze({ ...spec });
  }

  private with<T2 = T, N2 extends boolean = N>(change: Partial<ColumnSpec>): Column<T2, N2> {
    return new Column<T2, N2>({ ...this.spec, ...change });
  }

  /** Part of the primary key (implies NOT NULL). A lone integer key auto-increments. */
  primaryKey(): Column<T, false> {
    return this.with<T, false>({ primaryKey: true, nullable: false });
  }
  /** NOT NULL. */
  notNull(): Column<T, false> {
    return this.with<T, false>({ nullable: false });
  }
  /** NULL allowed (the default, spelled out). */
  nullable(): Column<T, true> {
    return this.with<T, true>({ nullable: true });
  }
  /** A UNIQUE constraint on this column alone. */
  unique(): Column<T, N> {
    return this.with({ unique: true });
  }
  /** An index on this column alone. */
  index(): Column<T, N> {
    return this.with({ index: true });
  }
  /** The value the database fills in when an insert leaves the column out. */
  default(value: T): Column<T, N> {
    return this.with({ hasDefault: true, defaultValue: value });
  }
  /**
   * A foreign key to another model: its table name (`'Name'`, `'Name.id'`) or a thunk
   * returning the model (`() => Name`). Following it from a row: `row.related(Name)`.
   */
  references(
    target: string | (() => { readonly table: string; readonly primaryKey: readonly string[] }),
    options: { onDelete?: ForeignKey['onDelete'] } = {},
  ): Column<T, N> {
    let table: ForeignKey['table'] = target;
    let column: string | undefined;
    if (typeof target === 'string' && target.includes('.')) {
      const dot = target.lastIndexOf('.');
      table = target.slice(0, dot);
      column = target.slice(dot + 1);
    }
    return this.with({ references: { table, column, onDelete: options.onDelete } });
  }
  /** A sentence for the generated documentation. */
  describe(text: string): Column<T, N> {
    return this.with({ description: text });
  }
}

function column<K extends ColumnKind>(kind: K, length = 255): Column<KindTypes[K], true> {
  return new Column<KindTypes[K], true>({
    kind,
    length,
    primaryKey: false,
    nullable: true,
    unique: false,
    index: false,
    hasDefault: false,
    defaultValue: undefined,
    references: undefined,
    description: undefined,
  });
}

/** 32-bit signed integer. */
export const integer = () => column('integer');
/** 64-bit integer, read back as a JavaScript number (exact up to 2^53). */
export const bigint = () => column('bigint');
/** Double-precision float. */
export const float = () => column('float');
/** Short text, `VARCHAR(length)`. (Default length: 255) */
export const string = (length = 255) => column('string', length);
/** Unbounded text. */
export const text = () => column('text');
/** true / false (SQLite stores 1 / 0). */
export const boolean = () => column('boolean');
/** A point in time, read back as a `Date` (SQLite stores milliseconds since the epoch, as knex binds them). */
export const datetime = () => column('datetime');
/** Any JSON value (PostgreSQL `jsonb`, SQLite text). */
export const json = () => column('json');

export type AnyColumn = Column<any, boolean>;
export type ColumnMap = Record<string, AnyColumn>;

/** The row type a column map describes. */
export type RowOf<C extends ColumnMap> = {
  -readonly [K in keyof C]: C[K] extends Column<infer T, infer N> ? (N extends true ? T | null : T) : never;
};
