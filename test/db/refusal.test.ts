/**
 * Refused values said with the model and the column (db/refusal.ts): corral's own
 * length check counts characters as PostgreSQL does, and PostgreSQL's own refusals,
 * raised by a real server, are rephrased naming the column they concern.
 */
import { describe, expect, test } from 'vitest';
import { RowRefused } from '../../src/db/blame.js';
import { integer, string } from '../../src/db/columns.js';
import { model } from '../../src/db/model.js';
import { RowRefusedAt, describeRefusal, refuseTooLong } from '../../src/db/refusal.js';
import { describePg } from '../helpers/postgres.js';
import { useUnitDb } from '../helpers/unit-db.js';

class Tag extends model('Tag', { id: integer().primaryKey(), label: string(3), weight: integer() }) {}

describe('refuseTooLong', () => {
  test('when a string of surrogate pairs is longer in UTF-16 than the limit but not in characters then it is accepted', () => {
    expect(() => refuseTooLong(Tag, 'label', 3, '😀😀')).not.toThrow();
  });

  test('when it has more characters than the limit then the refusal names the column, the limit and the length', () => {
    expect(() => refuseTooLong(Tag, 'label', 3, '😀😀😀😀')).toThrow(new RowRefused('Tag.label: value too long for string(3) (4 characters)'));
  });
});

describe('describeRefusal of errors that are not a row\'s', () => {
  test('when the error is not a refused value, or already says so, then it is returned as it is', () => {
    const lost = Object.assign(new Error('terminating connection'), { code: '57P01' });
    expect(describeRefusal(Tag, lost, ['label'])).toBe(lost);
    const refused = new RowRefused('Tag.label: too long');
    expect(describeRefusal(Tag, refused, ['label'], 3)).toBe(refused);
  });

  test('when a refusal carries no message, code or detail then what it has is said, with the model alone when no column is known', () => {
    const bare = { code: undefined, cause: { code: '23514' }, toString: () => 'refused' };
    const described = describeRefusal(Tag, bare, ['label', 'weight']) as Error;
    expect(described.message).toBe('Tag: refused (PostgreSQL ?)');
  });

  test('when PostgreSQL names a constraint corral made for a column then the column is named, whatever the case', () => {
    const error = { code: '23505', constraint: 'tag_label_unique', message: 'duplicate key value violates unique constraint "tag_label_unique"' };
    expect((describeRefusal(Tag, error, ['label', 'weight']) as Error).message).toBe(
      'Tag.label: duplicate key value violates unique constraint "tag_label_unique" (PostgreSQL 23505)',
    );
  });
});

describePg('describeRefusal of PostgreSQL refusals', () => {
  const openDb = useUnitDb('postgres');

  /** The error PostgreSQL raises for `sql` on a Tag table with a CHECK on weight (knex puts the statement before its message). */
  async function refusalOf(sql: string): Promise<unknown> {
    const { engine } = await openDb({ models: [Tag] });
    await engine.knex.raw('ALTER TABLE "Tag" ADD CONSTRAINT heavy_enough CHECK (weight > 0)');
    return engine.knex.raw(sql).then(
      () => expect.fail(`PostgreSQL accepted ${sql}`),
      (error: unknown) => error,
    );
  }

  test('when a CHECK constraint refuses a row of one written column then that column is named, with the failing row', async () => {
    const error = await refusalOf(`INSERT INTO "Tag" (weight) VALUES (-1)`);
    const described = describeRefusal(Tag, error, ['weight'], 4);
    expect(described).toBeInstanceOf(RowRefusedAt);
    expect((described as RowRefusedAt).index).toBe(4);
    expect((described as Error).message).toMatch(/^Tag\.weight: INSERT .* - new row for relation "Tag" violates check constraint "heavy_enough" \(PostgreSQL 23514: Failing row contains \(1, null, -1\)\.\)$/);
    expect((described as Error).cause).toBe(error);
  });

  test('when a CHECK constraint refuses a row of several written columns then the model is named, not a guessed column', async () => {
    const error = await refusalOf(`INSERT INTO "Tag" (label, weight) VALUES ('a', -1)`);
    const described = describeRefusal(Tag, error, ['label', 'weight']);
    expect(described).toBeInstanceOf(RowRefused);
    expect(described).not.toBeInstanceOf(RowRefusedAt);
    expect((described as Error).message).toMatch(/^Tag: INSERT .* - new row for relation "Tag" violates check constraint "heavy_enough" \(PostgreSQL 23514: /);
  });

  test('when a value is missing or a duplicate then PostgreSQL names the column itself, or in its detail', async () => {
    const missing = await refusalOf(`ALTER TABLE "Tag" ALTER COLUMN label SET NOT NULL; INSERT INTO "Tag" (weight) VALUES (1)`);
    expect((describeRefusal(Tag, missing, ['weight']) as Error).message).toMatch(/^Tag\.label: .*null value in column "label".* \(PostgreSQL 23502: Failing row contains/);
    const { engine } = await openDb({ models: [Tag] });
    await engine.knex.raw('CREATE UNIQUE INDEX "Tag_pair" ON "Tag" (label, weight)');
    await engine.knex.raw(`INSERT INTO "Tag" (label, weight) VALUES ('a', 1)`);
    const duplicate = await engine.knex.raw(`INSERT INTO "Tag" (label, weight) VALUES ('a', 1)`).then(
      () => expect.fail('PostgreSQL accepted a duplicate'),
      (error: unknown) => error,
    );
    expect((describeRefusal(Tag, duplicate, ['label', 'weight']) as Error).message).toMatch(
      /^Tag\.label, weight: .*duplicate key value violates unique constraint "Tag_pair" \(PostgreSQL 23505: Key \(label, weight\)=\(a, 1\) already exists\.\)$/,
    );
  });

  test('when a value is too long for its column then the only written column is named, and no detail is added', async () => {
    const error = await refusalOf(`INSERT INTO "Tag" (label) VALUES ('abcd')`);
    expect((describeRefusal(Tag, error, ['label']) as Error).message).toMatch(/^Tag\.label: INSERT .* - value too long for type character varying\(3\) \(PostgreSQL 22001\)$/);
  });
});
