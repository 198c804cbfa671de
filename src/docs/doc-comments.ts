/**
 * Documentation comments of a pipeline's classes, read from its source files with
 * the TypeScript compiler API (parsing only: nothing is type-checked or run).
 * `create-doc` takes class descriptions from here, falling back to the classes'
 * static `description`.
 */
import fs from 'node:fs';
import ts from 'typescript';

/** One top-level class of a source file. */
export interface ClassDoc {
  readonly name: string;
  /** Absolute path of the file declaring it. */
  readonly file: string;
  /** 1-based line of the `class` keyword. */
  readonly line: number;
  readonly exported: boolean;
  /** The text of its JSDoc comment (tags left out), or undefined. */
  readonly doc: string | undefined;
  /** For `class X extends model('Table', {...})`: the table name. */
  readonly table: string | undefined;
  /** For models: the comment of each column declaration that has one. */
  readonly columns: ReadonlyMap<string, string>;
}

/** The classes of a set of files, looked up by class name. */
export class DocIndex {
  readonly classes: readonly ClassDoc[];

  constructor(classes: readonly ClassDoc[]) {
    this.classes = classes;
  }

  /**
   * The declaration of a class named `name`. Several files may declare one (every
   * pipeline's loader is often `Loader`): exported declarations win, then the one
   * of the given model table, then the first.
   */
  find(name: string, hint: { table?: string } = {}): ClassDoc | undefined {
    const candidates = this.classes.filter((c) => c.name === name);
    if (candidates.length <= 1) return candidates[0];
    const exported = candidates.filter((c) => c.exported);
    const pool = exported.length > 0 ? exported : candidates;
    if (hint.table !== undefined) {
      const byTable = pool.find((c) => c.table === hint.table);
      if (byTable) return byTable;
    }
    return pool[0];
  }
}

function jsDocText(node: ts.Node): string | undefined {
  const docs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
  const last = docs[docs.length - 1];
  if (!last) return undefined;
  const text = ts.getTextOfJSDocComment(last.comment)?.trim();
  return text ? text : undefined;
}

/** `// text` lines directly above a node (no blank line between), or undefined. */
function leadingLineComments(source: ts.SourceFile, node: ts.Node): string | undefined {
  const text = source.text;
  const ranges = ts.getLeadingCommentRanges(text, node.pos) ?? [];
  const lines: string[] = [];
  for (let i = ranges.length - 1; i >= 0; i--) {
    const range = ranges[i]!;
    if (range.kind !== ts.SyntaxKind.SingleLineCommentTrivia) break;
    const next = i === ranges.length - 1 ? node.getStart(source) : ranges[i + 1]!.pos;
    if ((text.slice(range.end, next).match(/\n/g) ?? []).length > 1) break;
    lines.unshift(text.slice(range.pos + 2, range.end).trim());
  }
  const joined = lines.join(' ').trim();
  return joined || undefined;
}

/** A `// text` comment on the same line, after the node and its comma. */
function trailingLineComment(source: ts.SourceFile, node: ts.Node): string | undefined {
  const text = source.text;
  let position = node.end;
  while (position < text.length && (text[position] === ' ' || text[position] === '\t')) position++;
  if (text[position] === ',') position++;
  const ranges = ts.getTrailingCommentRanges(text, position) ?? [];
  const first = ranges[0];
  if (!first || first.kind !== ts.SyntaxKind.SingleLineCommentTrivia) return undefined;
  const comment = text.slice(first.pos + 2, first.end).trim();
  return comment || undefined;
}

function propertyName(name: ts.PropertyName): string | undefined {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name) || ts.isPrivateIdentifier(name)) return name.text;
  return undefined;
}

/** `model('Table', { ... })` in an `extends` clause: the table and the column comments. */
function modelDeclaration(source: ts.SourceFile, node: ts.ClassDeclaration): { table: string | undefined; columns: Map<string, string> } {
  const columns = new Map<string, string>();
  const heritage = node.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0]?.expression;
  if (!heritage || !ts.isCallExpression(heritage)) return { table: undefined, columns };
  const [tableArg, columnsArg] = heritage.arguments;
  const table = tableArg && ts.isStringLiteralLike(tableArg) ? tableArg.text : undefined;
  if (columnsArg && ts.isObjectLiteralExpression(columnsArg)) {
    for (const property of columnsArg.properties) {
      if (!property.name) continue;
      const name = propertyName(property.name);
      if (name === undefined) continue;
      const comment = jsDocText(property) ?? leadingLineComments(source, property) ?? trailingLineComment(source, property);
      if (comment) columns.set(name, comment);
    }
  }
  return { table, columns };
}

function isExported(node: ts.ClassDeclaration, exportedNames: ReadonlySet<string>): boolean {
  return Boolean(ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) || (node.name !== undefined && exportedNames.has(node.name.text));
}

/** The top-level classes of one file's text. */
export function classDocsOf(file: string, text: string): ClassDoc[] {
  const kind = /\.[cm]?tsx$/.test(file) ? ts.ScriptKind.TSX : /\.[cm]?ts$/.test(file) ? ts.ScriptKind.TS : ts.ScriptKind.JS;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
  // Names exported by `export { A, B }` lists.
  const exportedNames = new Set<string>();
  for (const statement of source.statements) {
    if (ts.isExportDeclaration(statement) && !statement.moduleSpecifier && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
      for (const element of statement.exportClause.elements) exportedNames.add((element.propertyName ?? element.name).text);
    }
  }
  const found: ClassDoc[] = [];
  for (const statement of source.statements) {
    if (!ts.isClassDeclaration(statement) || !statement.name) continue;
    const { table, columns } = modelDeclaration(source, statement);
    found.push({
      name: statement.name.text,
      file,
      line: source.getLineAndCharacterOfPosition(statement.getStart(source)).line + 1,
      exported: isExported(statement, exportedNames),
      doc: jsDocText(statement),
      table,
      columns,
    });
  }
  return found;
}

/** Reads and parses `files`; unreadable files are skipped. */
export function readDocComments(files: readonly string[]): DocIndex {
  const classes: ClassDoc[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    classes.push(...classDocsOf(file, text));
  }
  return new DocIndex(classes);
}
