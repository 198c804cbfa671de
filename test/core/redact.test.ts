/**
 * Passwords kept out of what corral prints (core/redact.ts): in URLs, libpq keyword
 * strings, object dumps and JSON log lines, and in connection settings quoted whole.
 */
import { describe, expect, test } from 'vitest';
import { redactConnection, redactSecrets } from '../../src/core/redact.js';

describe('redactSecrets', () => {
  test('when a text has no URL and no password keyword then it is returned unchanged', () => {
    const text = 'Cannot connect to the database (sqlite:pipeline.db)';
    expect(redactSecrets(text)).toBe(text);
  });

  test('when a URL carries a password then only the password is hidden, a raw @ in it included', () => {
    expect(redactSecrets('connecting to postgres://ana:s3cr@t@db.example:5432/survey failed')).toBe('connecting to postgres://ana:***@db.example:5432/survey failed');
    expect(redactSecrets('see https://example.org/docs')).toBe('see https://example.org/docs');
  });

  test('when a keyword string, an object dump or a JSON line carries a password then the value is hidden and quotes are kept', () => {
    expect(redactSecrets('host=db user=ana password=hunter2 dbname=x')).toBe('host=db user=ana password=*** dbname=x');
    expect(redactSecrets("{ user: 'ana', password: 'hunter 2' }")).toBe("{ user: 'ana', password: '***' }");
    const line = JSON.stringify({ msg: 'connect', pwd: 'hunter2', level: 30 });
    expect(redactSecrets(line)).toBe('{"msg":"connect","pwd":"***","level":30}');
    expect(JSON.parse(redactSecrets(line))).toEqual({ msg: 'connect', pwd: '***', level: 30 });
  });
});

describe('redactConnection', () => {
  test('when a URL has blanks in its password then everything up to the last @ is hidden', () => {
    expect(redactConnection('postgres://ana:my pass word@db/survey')).toBe('postgres://ana:***@db/survey');
    expect(redactConnection('sqlite:pipeline.db')).toBe('sqlite:pipeline.db');
  });

  test('when the setting is a knex object then its password fields are hidden and the rest is shown', () => {
    const shown = redactConnection({ host: 'db', user: 'ana', Password: 'hunter2', database: 'survey', passwd: undefined });
    expect(JSON.parse(shown)).toEqual({ host: 'db', user: 'ana', Password: '***', database: 'survey' });
    expect(shown).not.toContain('hunter2');
  });

  test('when the setting is nothing JSON can write then it is shown as text', () => {
    expect(redactConnection(undefined)).toBe('undefined');
  });
});
