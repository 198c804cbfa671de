/**
 * What both stores know of a model's row: its columns as arrays (computed once per
 * model), the columns an INSERT writes and the columns an UPDATE changes. Values
 * are converted for the store's dialect; SQL text is each store's own.
 */
import type { ColumnSpec } from '../columns.js';
import type { ModelClass } from '../model.js';
import { generatedFunction } from '../../core/generated-code.js';
import { refuseTooLong } from '../refusal.js';
import { sameValue, toDb, type Dialect } from '../values.js';

/** A model's columns as arrays, computed once: the per-row paths index them rather than walk objects. */
export interface Layout {
  readonly names: readonly string[];
  readonly specs: readonly ColumnSpec[];
  readonly keyIndexes: readonly number[];
  /** Index of the single integer key the database numbers, or -1. */
  readonly autoKey: number;
  /** The length limit of each `string(n)` column, Infinity for the others: one comparison per value. */
  readonly maxLengths: readonly number[];
}

const layouts = new WeakMap<ModelClass, Layout>();

export function layoutOf(Model: ModelClass): Layout {
  let layout = layouts.get(Model);
  if (!layout) {
    const names = Object.keys(Model.columns);
    layout = {
      names,
      specs: names.map((name) => Model.columns[name]!.spec),
      keyIndexes: Model.primaryKey.map((name) => names.indexOf(name)),
      autoKey: -1,
      maxLengths: names.map((name) => (Model.columns[name]!.spec.kind === 'string' ? Model.columns[name]!.spec.length : Infinity)),
    };
    const key = Model.primaryKey.length === 1 ? names.indexOf(Model.primaryKey[0]!) : -1;
    if (key >= 0 && ['integer', 'bigint'].includes(layout.specs[key]!.kind)) layout = { ...layout, autoKey: key };
    layouts.set(Model, layout);
  }
  return layout;
}

/** A signature's columns: one character per column, its index + 65 (cheaper per row than joining names). */
export function signatureColumns(signature: string, names: readonly string[]): string[] {
  return [...signature].map((c) => names[c.charCodeAt(0) - 65]!);
}

/**
 * The columns an INSERT of `row` writes, as a signature (see `signatureColumns`),
 * and their bound values. An undefined column with a constant default gets that
 * default, here and in `row`; one with another default or an undefined key is left
 * out for the database to fill in (`readBack`: the row must be read back, unless the
 * only one left out is the integer key, which SQLite hands back as the rowid); any
 * other undefined column becomes NULL, as in SQL.
 */
export function insertedColumns(Model: ModelClass, row: Record<string, unknown>, dialect: Dialect): { signature: string; values: unknown[]; readBack: boolean } {
  const { names, specs, autoKey, maxLengths } = layoutOf(Model);
  let signature = '';
  let readBack = false;
  const values: unknown[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const spec = specs[i]!;
    let value = row[name];
    if (value === undefined) {
      if (spec.hasDefault && isConstant(spec.defaultValue)) {
        row[name] = value = spec.defaultValue;
      } else if (spec.primaryKey || spec.hasDefault) {
        if (i !== autoKey) readBack = true;
        continue;
      } else {
        row[name] = value = null;
      }
    }
    if (typeof value === 'string' && value.length > maxLengths[i]!) refuseTooLong(Model, name, maxLengths[i]!, value);
    signature += String.fromCharCode(65 + i);
    values.push(toDb(spec, value, dialect));
  }
  return { signature, values, readBack };
}

/** The columns whose value differs from the one last read or written. */
export function changedColumns(Model: ModelClass, row: Record<string, unknown>, original: Record<string, unknown>): string[] {
  const { names, specs, maxLengths } = layoutOf(Model);
  return names.filter((name, i) => {
    const value = row[name];
    if (sameValue(specs[i]!, value, original[name])) return false;
    if (typeof value === 'string' && value.length > maxLengths[i]!) refuseTooLong(Model, name, maxLengths[i]!, value);
    return true;
  });
}

/** The columns of a row that differ from `original`, one bit per column (bit i: column i of the layout). */
export type ChangedMask = (row: Record<string, unknown>, original: Record<string, unknown>) => number;

/** Bits a mask can hold as a small integer: wider models keep the signature path. */
export const MASK_COLUMNS = 30;

/** Kinds compared with `===` (NULL and undefined aside): the others need `sameValue` (dates, JSON). */
const COMPARED_AS_IS = new Set(['integer', 'bigint', 'float', 'string', 'text', 'boolean']);

const detectors = new WeakMap<ModelClass, ChangedMask | null>();

/**
 * A model's change detection as one function generated from its columns (what
 * `sameValue` decides, column by column, without a loop or a call per plain value),
 * or null for a model too wide for a mask. The step saves every row it hands to
 * `process`, so this runs once per row.
 */
export function changeDetector(Model: ModelClass): ChangedMask | null {
  let detector = detectors.get(Model);
  if (detector === undefined) detectors.set(Model, (detector = compileChangeDetector(Model)));
  return detector;
}

function compileChangeDetector(Model: ModelClass): ChangedMask | null {
  const { names, specs } = layoutOf(Model);
  if (names.length > MASK_COLUMNS) return null;
  const lines = names.map((name, i) => {
    const key = JSON.stringify(name);
    // sameValue: equal when ===, or when both are NULL/undefined; a NULL against a value differs.
    const differs = COMPARED_AS_IS.has(specs[i]!.kind)
      ? `a !== b && (a === null || a === undefined || b === null || b === undefined ? (a ?? null) !== (b ?? null) : true)`
      : `!sameValue(specs[${i}], a, b)`;
    return `a = row[${key}]; b = original[${key}]; if (${differs}) mask |= ${1 << i};`;
  });
  const make = generatedFunction<(same: typeof sameValue, specs: readonly ColumnSpec[]) => ChangedMask>(
    ['sameValue', 'specs'],
    `return function changed(row, original) {\nlet mask = 0, a, b;\n${lines.join('\n')}\nreturn mask;\n};`,
  );
  if (!make) return null;
  return make(sameValue, specs);
}

/**
 * `insertedColumns` for SQLite as one function generated from the model's columns:
 * it fills `values` (emptied first) and returns the columns written as a mask (bit i:
 * column i), with `READ_BACK` set when the row must be read back. A loader inserts
 * every row through it, so no signature string or result object is built per row.
 */
export type InsertPlan = (row: Record<string, unknown>, values: unknown[]) => number;

/** The bit of an `InsertPlan`'s answer that says the row must be read back (above every column's). */
export const READ_BACK = 1 << MASK_COLUMNS;

const insertPlans = new WeakMap<ModelClass, InsertPlan | null>();

/** A model's SQLite `InsertPlan`, or null for a model too wide for a mask. */
export function sqliteInsertPlan(Model: ModelClass): InsertPlan | null {
  let plan = insertPlans.get(Model);
  if (plan === undefined) insertPlans.set(Model, (plan = compileInsertPlan(Model)));
  return plan;
}

function compileInsertPlan(Model: ModelClass): InsertPlan | null {
  const { names, specs, autoKey, maxLengths } = layoutOf(Model);
  if (names.length > MASK_COLUMNS) return null;
  const lines = names.map((name, i) => {
    const key = JSON.stringify(name);
    const spec = specs[i]!;
    // What an undefined value becomes, as in `insertedColumns`.
    let missing: string;
    let leftOut = false;
    if (spec.hasDefault && isConstant(spec.defaultValue)) missing = `row[${key}] = v = defaults[${i}];`;
    else if (spec.primaryKey || spec.hasDefault) {
      leftOut = true;
      missing = i !== autoKey ? `readBack = ${READ_BACK};` : '';
    } else missing = `row[${key}] = v = null;`;
    const check = Number.isFinite(maxLengths[i]!) ? `if (typeof v === 'string' && v.length > ${maxLengths[i]!}) refuseTooLong(Model, ${key}, ${maxLengths[i]!}, v);` : '';
    const bound = COMPARED_AS_IS.has(spec.kind) && spec.kind !== 'boolean' ? 'v' : `toDb(specs[${i}], v, 'sqlite')`;
    const write = `${check} mask |= ${1 << i}; values.push(${bound});`;
    return leftOut ? `v = row[${key}]; if (v === undefined) { ${missing} } else { ${write} }` : `v = row[${key}]; if (v === undefined) { ${missing} } ${write}`;
  });
  const make = generatedFunction<(model: ModelClass, specs: readonly ColumnSpec[], defaults: readonly unknown[], to: typeof toDb, refuse: typeof refuseTooLong) => InsertPlan>(
    ['Model', 'specs', 'defaults', 'toDb', 'refuseTooLong'],
    `return function plan(row, values) {\nvalues.length = 0;\nlet mask = 0, readBack = 0, v;\n${lines.join('\n')}\nreturn mask | readBack;\n};`,
  );
  if (!make) return null;
  return make(
    Model,
    specs,
    specs.map((spec) => spec.defaultValue),
    toDb,
    refuseTooLong,
  );
}

/**
 * SQLite's UPDATE of the columns of one change mask (`changeDetector`), as one function
 * generated per model and mask: it checks lengths, binds the changed values and the
 * row's key as separate arguments of the prepared statement, and then records the
 * written values in `original`. A step saves every row it changes through it: no loop
 * over the columns, no array of values (better-sqlite3 binds an array ~10 % slower
 * than the same values as arguments), no call per plain value.
 */
export type SqliteUpdate = (statement: { run(...params: unknown[]): unknown }, row: Record<string, unknown>, original: Record<string, unknown>) => void;

const sqliteUpdates = new WeakMap<ModelClass, Map<number, SqliteUpdate | null>>();

/** The `SqliteUpdate` of `mask` for a model, or null when code cannot be generated here. */
export function sqliteUpdateOf(Model: ModelClass, mask: number): SqliteUpdate | null {
  let byMask = sqliteUpdates.get(Model);
  if (!byMask) sqliteUpdates.set(Model, (byMask = new Map()));
  let update = byMask.get(mask);
  if (update === undefined) byMask.set(mask, (update = compileSqliteUpdate(Model, mask)));
  return update;
}

function compileSqliteUpdate(Model: ModelClass, mask: number): SqliteUpdate | null {
  const { names, specs, keyIndexes, maxLengths } = layoutOf(Model);
  /** The bound form of `value` for column i: plain kinds as they are (undefined is NULL), the others through `toDb`. */
  const bound = (i: number, value: string) => (COMPARED_AS_IS.has(specs[i]!.kind) && specs[i]!.kind !== 'boolean' ? `${value} ?? null` : `toDb(specs[${i}], ${value}, 'sqlite')`);
  const changed = names.map((_, i) => i).filter((i) => (mask & (1 << i)) !== 0);
  const read = changed.map((i) => {
    const key = JSON.stringify(names[i]);
    const check = Number.isFinite(maxLengths[i]!) ? ` if (typeof v${i} === 'string' && v${i}.length > ${maxLengths[i]!}) refuseTooLong(Model, ${key}, ${maxLengths[i]!}, v${i});` : '';
    return `const v${i} = row[${key}];${check}`;
  });
  const args = [...changed.map((i) => bound(i, `v${i}`)), ...keyIndexes.map((k) => bound(k, `(original[${JSON.stringify(names[k])}] ?? row[${JSON.stringify(names[k])}])`))];
  const written = changed.map((i) => `original[${JSON.stringify(names[i])}] = v${i};`);
  const make = generatedFunction<(model: ModelClass, specs: readonly ColumnSpec[], to: typeof toDb, refuse: typeof refuseTooLong) => SqliteUpdate>(
    ['Model', 'specs', 'toDb', 'refuseTooLong'],
    `return function update(statement, row, original) {\n${read.join('\n')}\nstatement.run(${args.join(', ')});\n${written.join('\n')}\n};`,
  );
  return make ? make(Model, specs, toDb, refuseTooLong) : null;
}

/** A row's column values as a new object: the `original` a saved row is compared with later. */
export type Snapshot = (row: Record<string, unknown>) => Record<string, unknown>;

const snapshots = new WeakMap<ModelClass, Snapshot>();

/** A model's `Snapshot`, generated once as one object literal (a loader takes one per row). */
export function snapshotOf(Model: ModelClass): Snapshot {
  let snapshot = snapshots.get(Model);
  if (!snapshot) snapshots.set(Model, (snapshot = compileSnapshot(Model)));
  return snapshot;
}

function compileSnapshot(Model: ModelClass): Snapshot {
  const { names } = layoutOf(Model);
  const byLoop: Snapshot = (row) => {
    const original: Record<string, unknown> = {};
    for (const name of names) original[name] = row[name];
    return original;
  };
  // A name an object literal would not take as an own property: the plain loop.
  if (names.includes('__proto__')) return byLoop;
  const fields = names.map((name) => `${JSON.stringify(name)}: row[${JSON.stringify(name)}]`).join(', ');
  return generatedFunction<Snapshot>(['row'], `return { ${fields} };`) ?? byLoop;
}

/** A default that can be filled in before the INSERT: a value, not SQL and not a shared object. */
function isConstant(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean', 'bigint'].includes(typeof value);
}

export function quote(identifier: string): string {
  return '"' + identifier.replaceAll('"', '""') + '"';
}
