/**
 * The document helper in this process: what goes to standard output, the "Wrote" line
 * for companions, and the reasons a file cannot be written. (test/e2e/document-output.test.ts
 * covers the three commands that use it.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { documentTarget, writeDocument, type DocumentFormats } from '../../src/cli/document-output.js';
import { CommandError } from '../../src/core/errors.js';
import { memoryOutput } from '../../src/core/output.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-docout-');
const FORMATS: DocumentFormats<'txt' | 'raw'> = { extensions: { txt: ['txt'], raw: [] }, standardOutput: 'txt', fileOnly: ['raw'] };

describe('documentTarget', () => {
  test('when a format lists no extension then the messages name it by its format', () => {
    expect(() => documentTarget({ format: 'raw' }, FORMATS)).toThrow(new CommandError('a RAW goes to a file, not to standard output: give -o FILE.raw'));
    const file = path.join(tempDir(), 'doc.bin');
    try {
      documentTarget({ output: file }, FORMATS);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CommandError);
      expect((error as CommandError).hint).toBe('Name the file .txt or .raw, or give --format txt|raw');
    }
  });
});

describe('writeDocument', () => {
  test('when binary content goes to standard output then it is written as text', () => {
    const output = memoryOutput();
    writeDocument(output, { format: 'txt', file: undefined }, new TextEncoder().encode('héllo\n'), 'the document');
    expect(output.stdout).toBe('héllo\n');
    expect(output.stderr).toBe('');
  });

  test('when one companion goes beside the file then the Wrote line names it in the singular', () => {
    const output = memoryOutput();
    const file = path.join(tempDir(), 'one', 'doc.txt');
    writeDocument(output, { format: 'txt', file }, 'text', 'the document', [{ name: 'pic.svg', content: new Uint8Array([60, 62]), what: 'its diagram' }]);
    expect(output.stderr).toBe(`Wrote the document to ${file}, and its diagram to ${path.join(tempDir(), 'one', 'pic.svg')}\n`);
    expect(fs.readFileSync(path.join(tempDir(), 'one', 'pic.svg'), 'utf8')).toBe('<>');
  });

  test('when the folder of a companion cannot be made then the error names the file in the way', () => {
    const folder = path.join(tempDir(), 'blocked');
    fs.mkdirSync(folder);
    const file = path.join(folder, 'doc.txt');
    fs.writeFileSync(path.join(folder, 'sub'), 'a file where a folder should be');
    expect(() => writeDocument(memoryOutput(), { format: 'txt', file }, 'text', 'the document', [{ name: path.join('sub', 'pic.svg'), content: '', what: 'its diagram' }])).toThrow(
      `-o ${path.join(folder, 'sub', 'pic.svg')}: cannot write there (${path.join(folder, 'sub')} is a file, not a folder)`,
    );
    const long = path.join(folder, `${'x'.repeat(300)}.txt`);
    expect(() => writeDocument(memoryOutput(), { format: 'txt', file: long }, 'text', 'the document')).toThrow(/cannot write there \(ENAMETOOLONG: name too long/);
    expect(fs.existsSync(file)).toBe(false);
  });
});
