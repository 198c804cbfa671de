import fs from 'node:fs';
import path from 'node:path';
import { CommandError } from '../core/errors.js';
import type { Output } from '../core/output.js';

/**
 * The formats a document command writes (`create-doc`, `qareport`,
 * `create-models-diagram`): each format with the file extensions that select it
 * (the first is the one suggested), and the format standard output gets.
 */
export interface DocumentFormats<F extends string> {
  readonly extensions: Readonly<Record<F, readonly string[]>>;
  readonly standardOutput: F;
  /** Binary formats: they go to a file, never to a terminal. */
  readonly fileOnly?: readonly F[];
}

/** Where a document goes: a file (`-o FILE`) or standard output, and in which format. */
export interface DocumentTarget<F extends string> {
  readonly format: F;
  /** Undefined: standard output. */
  readonly file: string | undefined;
}

/** A file written beside the document (create-doc's class diagram), named in the "Wrote" line. */
export interface Companion {
  readonly name: string;
  readonly content: string | Uint8Array;
  /** What it is, in the singular (`its diagram`); two of a kind are named as one plural. */
  readonly what: string;
}

/**
 * The target of `-o FILE` and `--format`: `--format` wins; else the file's extension
 * says the format, and an extension that names none is an error (a report written
 * as Markdown into `report.txt` would surprise); without `-o`, standard output in
 * its format. Checked before the command does its work, with the folder the file
 * goes to, so that a long `qareport` is not lost at the end for a typo in a path.
 */
export function documentTarget<F extends string>(options: { readonly output?: unknown; readonly format?: unknown }, formats: DocumentFormats<F>): DocumentTarget<F> {
  const file = options.output === undefined ? undefined : String(options.output);
  const names = Object.keys(formats.extensions) as F[];
  // commander has checked --format against the same names (.choices).
  const asked = options.format === undefined ? undefined : (String(options.format) as F);
  if (file === undefined) {
    const format = asked ?? formats.standardOutput;
    if (formats.fileOnly?.includes(format)) {
      throw new CommandError(`a ${format.toUpperCase()} goes to a file, not to standard output: give -o FILE.${formats.extensions[format][0] ?? format}`);
    }
    return { format, file };
  }
  checkWritable(file);
  if (asked !== undefined) return { format: asked, file };
  const extension = path.extname(file).slice(1).toLowerCase();
  const format = names.find((name) => formats.extensions[name].includes(extension));
  if (format === undefined) {
    const known = names.map((name) => `.${formats.extensions[name][0] ?? name}`);
    throw new CommandError(`-o ${file}: cannot tell the format from ${extension ? `the extension .${extension}` : 'a name without an extension'}`, {
      hint: `Name the file ${known.slice(0, -1).join(', ')} or ${known.at(-1)}, or give --format ${names.join('|')}`,
    });
  }
  return { format, file };
}

/**
 * Writes the document where `target` says: to its file (and the companions beside
 * it), then one "Wrote <what> to <file>" line on stderr; or to standard output.
 */
export function writeDocument(output: Output, target: DocumentTarget<string>, content: string | Uint8Array, what: string, companions: readonly Companion[] = []): void {
  if (target.file === undefined) {
    output.out(typeof content === 'string' ? content : Buffer.from(content).toString('utf8'));
    return;
  }
  const beside = companions.map((companion) => ({ ...companion, file: path.join(path.dirname(target.file!), companion.name) }));
  for (const companion of beside) writeFile(companion.file, companion.content);
  writeFile(target.file, content);
  // Companions of one kind are named together: ", and its diagrams to a.svg and b.svg".
  const kinds = [...new Set(beside.map((companion) => companion.what))];
  const named = kinds.map((kind) => {
    const files = beside.filter((companion) => companion.what === kind).map((companion) => companion.file);
    return `, and ${kind}${files.length > 1 ? 's' : ''} to ${files.join(' and ')}`;
  });
  output.err(`Wrote ${what} to ${target.file}${named.join('')}\n`);
}

/** Writes `file`, its folder made first; a failure is one CommandError naming the file and why. */
function writeFile(file: string, content: string | Uint8Array): void {
  try {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fs.writeFileSync(file, content);
  } catch (error) {
    // mkdir names the whole folder it could not make; the message names the file in the way.
    const blocker = fileInTheWay(file);
    throw unwritable(file, blocker === undefined ? error : Object.assign(new Error(blocker), { code: 'ENOTDIR', path: blocker, cause: error }));
  }
}

/** The first part of `file`'s folder path, as given, that exists and is not a folder; undefined when there is none. */
function fileInTheWay(file: string): string | undefined {
  let folder = path.dirname(file);
  while (!fs.existsSync(folder)) folder = path.dirname(folder);
  return fs.statSync(folder, { throwIfNoEntry: false })?.isDirectory() === false ? folder : undefined;
}

/**
 * Fails now, as writing would fail later: the file is a folder, a file stands where a
 * folder of its path should be, or the first folder that exists is not writable.
 */
function checkWritable(file: string): void {
  try {
    if (fs.existsSync(file)) {
      if (fs.statSync(file).isDirectory()) throw Object.assign(new Error('a folder'), { code: 'EISDIR' });
      fs.accessSync(file, fs.constants.W_OK);
      return;
    }
    // Up the path as given, so that the message names the part the user typed.
    const blocker = fileInTheWay(file);
    if (blocker !== undefined) throw Object.assign(new Error(blocker), { code: 'ENOTDIR', path: blocker });
    let folder = path.dirname(file);
    while (!fs.existsSync(folder)) folder = path.dirname(folder);
    fs.accessSync(folder, fs.constants.W_OK);
  } catch (error) {
    throw unwritable(file, error);
  }
}

/** The one error for a file that cannot be written, with the reason in words. */
function unwritable(file: string, error: unknown): CommandError {
  const { code, path: at } = (error ?? {}) as { code?: string; path?: string };
  const reason =
    code === 'EISDIR'
      ? 'it is a folder'
      : code === 'ENOTDIR'
        ? `${at && path.resolve(at) !== path.resolve(file) ? at : 'a part of the path'} is a file, not a folder`
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : error instanceof Error
            ? error.message
            : String(error);
  return new CommandError(`-o ${file}: cannot write there (${reason})`, {
    hint: 'Give -o a file in a folder you can write to',
    cause: error,
  });
}
