/**
 * `-o FILE` and `--format` of the three commands that write a document (create-doc,
 * qareport, create-models-diagram), from the command line: the format comes from
 * --format, else from the file's extension, and an extension that names no format is
 * one error; a path that cannot be written is one error before any work is done (a
 * qareport does not run its tests first); without -o the document goes to standard
 * output. One helper does this for all three (src/cli/document-output.ts), so the
 * messages are the same.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { createPipeline, expectExit, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-docout-');
let pipe: ScaffoldedPipeline;

beforeAll(async () => {
  pipe = await createPipeline(tempDir(), 'docout');
});

/** Each command, what its extensions are, and the hint that lists them. */
const COMMANDS = [
  { command: 'create-doc', extension: 'md', known: 'Name the file .md or .html, or give --format md|html' },
  { command: 'qareport', extension: 'json', known: 'Name the file .md, .html or .json, or give --format md|html|json' },
  { command: 'create-models-diagram', extension: 'svg', known: 'Name the file .dot, .svg or .png, or give --format dot|svg|png' },
] as const;

describe('a document written with -o', () => {
  test.each(COMMANDS)('when $command gets -o report.txt then it stops with one error naming the extension and the ones it knows, and writes nothing', async ({ command, known }) => {
    const file = path.join(tempDir(), `${command}-report.txt`);
    const result = await pipe.cli([command, '-o', file]);
    expectExit(result, 1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`Error: -o ${file}: cannot tell the format from the extension .txt\n  ${known}\n`);
    expect(fs.existsSync(file)).toBe(false);
  });

  test('when the file has no extension then the error says so; with --format the same name is written in that format', async () => {
    const file = path.join(tempDir(), 'MANUAL');
    const refused = await pipe.cli(['create-doc', '-o', file]);
    expectExit(refused, 1);
    expect(refused.stderr).toBe(`Error: -o ${file}: cannot tell the format from a name without an extension\n  Name the file .md or .html, or give --format md|html\n`);
    const written = await pipe.cli(['create-doc', '--format', 'html', '-o', file]);
    expectExit(written, 0);
    expect(written.stderr).toBe(`Wrote the documentation to ${file}\n`);
    expect(fs.readFileSync(file, 'utf8')).toMatch(/^<!DOCTYPE html>/);
  });

  test('when -o ends in .htm or .gv then those name HTML and DOT, in any case of letters', async () => {
    const page = path.join(tempDir(), 'manual.HTM');
    expectExit(await pipe.cli(['create-doc', '-o', page]), 0);
    expect(fs.readFileSync(page, 'utf8')).toMatch(/^<!DOCTYPE html>/);
    const graph = path.join(tempDir(), 'models.gv');
    const drawn = await pipe.cli(['create-models-diagram', '-o', graph]);
    expectExit(drawn, 0);
    expect(drawn.stderr).toBe(`Wrote the DOT diagram of 1 model to ${graph}\n`);
    expect(fs.readFileSync(graph, 'utf8')).toMatch(/^digraph "docout models" \{/);
  });

  test.each(COMMANDS)('when $command gets -o under a path where a file stands in for a folder then it stops at once with one error naming that file', async ({ command, extension }) => {
    const blocker = path.join(tempDir(), `${command}-blocker`);
    fs.writeFileSync(blocker, 'a file, not a folder\n');
    const file = path.join(blocker, 'sub', `out.${extension}`);
    const result = await pipe.cli([command, '-o', file]);
    expectExit(result, 1);
    expect(result.stdout).toBe('');
    // Nothing ran before the check: qareport's "Running tests..." line never came.
    expect(result.stderr).toBe(`Error: -o ${file}: cannot write there (${blocker} is a file, not a folder)\n  Give -o a file in a folder you can write to\n`);
    expect(fs.readFileSync(blocker, 'utf8')).toBe('a file, not a folder\n');
  });

  test('when the path is relative then the error names the file in the way as it was typed', async () => {
    fs.writeFileSync(path.join(pipe.root, 'notes'), 'mine\n');
    const result = await pipe.cli(['create-models-diagram', '-o', 'notes/models.svg']);
    expectExit(result, 1);
    expect(result.stderr).toBe('Error: -o notes/models.svg: cannot write there (notes is a file, not a folder)\n  Give -o a file in a folder you can write to\n');
    expect(fs.readFileSync(path.join(pipe.root, 'notes'), 'utf8')).toBe('mine\n');
    fs.rmSync(path.join(pipe.root, 'notes'));
  });

  test('when -o names an existing folder then the error says it is a folder, and the folder is left as it was', async () => {
    const folder = path.join(tempDir(), 'taken.md');
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'keep.txt'), 'kept');
    const result = await pipe.cli(['create-doc', '-o', folder]);
    expectExit(result, 1);
    expect(result.stderr).toBe(`Error: -o ${folder}: cannot write there (it is a folder)\n  Give -o a file in a folder you can write to\n`);
    expect(fs.readdirSync(folder)).toEqual(['keep.txt']);
  });

  test('when -o names a folder that does not exist yet then it is made, and the Markdown manual gets its diagrams beside it', async () => {
    const file = path.join(tempDir(), 'new', 'deeper', 'manual.md');
    const result = await pipe.cli(['create-doc', '-o', file]);
    expectExit(result, 0);
    const diagram = path.join(path.dirname(file), 'models.svg');
    const lineage = path.join(path.dirname(file), 'lineage.svg');
    expect(result.stderr).toBe(`Wrote the documentation to ${file}, and its diagrams to ${diagram} and ${lineage}\n`);
    expect(fs.readFileSync(file, 'utf8')).toContain('](models.svg)');
    expect(fs.readFileSync(file, 'utf8')).toContain('](lineage.svg)');
    expect(fs.readFileSync(diagram, 'utf8')).toMatch(/<svg/);
    expect(fs.readFileSync(lineage, 'utf8')).toMatch(/<svg/);
  });
});

describe('a document without -o', () => {
  test('when create-doc and create-models-diagram run without -o then Markdown and DOT go to standard output, nothing to stderr, no file is written', async () => {
    // .corral/ is the compile cache of the pipeline's TypeScript, not a document.
    const files = () => fs.readdirSync(pipe.root).filter((name) => name !== '.corral').sort();
    const before = files();
    const doc = await pipe.cli(['create-doc']);
    expectExit(doc, 0);
    expect(doc.stderr).toBe('');
    expect(doc.stdout).toMatch(/^# docout/);
    const dot = await pipe.cli(['create-models-diagram']);
    expectExit(dot, 0);
    expect(dot.stderr).toBe('');
    expect(dot.stdout).toMatch(/^digraph "docout models" \{/);
    const svg = await pipe.cli(['create-models-diagram', '--format', 'svg']);
    expectExit(svg, 0);
    expect(svg.stdout).toMatch(/<svg/);
    expect(files()).toEqual(before);
  });

  test('when a PNG is asked for standard output then it is refused with one line that says to give -o', async () => {
    const result = await pipe.cli(['create-models-diagram', '--format', 'png']);
    expectExit(result, 1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('Error: a PNG goes to a file, not to standard output: give -o FILE.png\n');
  });
});
