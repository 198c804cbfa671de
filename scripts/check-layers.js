#!/usr/bin/env node
/**
 * Part of `npm run lint`: checks the imports between corral's modules, which ESLint
 * sees one file at a time and cannot. It fails (exit 1, one line per problem) on
 *   - an upward import: a folder of src/ importing one it may not (ALLOWED below is
 *     docs/architecture.md, "Dependency direction"); `import type` and `import()` count too;
 *   - an import cycle between modules. Only imports that exist at run time count:
 *     `import type`, and imports whose names are used only in types (tsc drops
 *     them from the JavaScript), do not; neither does `import()`, which loads on
 *     first use and is the way to break a cycle;
 *   - dead code: an export that no module of src/ (nor bin/, templates/) imports and
 *     its own module does not use. Tests do not keep a name alive: a function only
 *     tests call is reported. Entry points (ENTRY_POINTS) and UNUSED_EXPORTS_ALLOWED
 *     are exempt. An export used only inside its own module is not an error
 *     (`--needless` lists those too, and then fails on them).
 * Imports are read with the TypeScript parser, without type checking (~2 s of CPU for src/).
 *
 * Usage: node scripts/check-layers.js [--needless] [root]
 *   root: the folder holding src/ (and test/, bin/, ...); default: this repository.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * What each folder of src/ may import (besides itself). Imports point one way:
 * cli → serve → docs → qa → run → processors → db · conf → core; cli → workers → run;
 * creator → core. `conf` may use
 * `db` (db never imports conf). The top-level files: `version.ts` is a constant
 * (counted with core); `index.ts` is the public API, which nothing inside imports.
 */
export const ALLOWED = {
  core: [],
  db: ['core'],
  conf: ['core', 'db'],
  processors: ['core', 'conf', 'db'],
  run: ['core', 'conf', 'db', 'processors'],
  workers: ['core', 'conf', 'db', 'processors', 'run'],
  qa: ['core', 'conf', 'db', 'processors', 'run'],
  docs: ['core', 'conf', 'db', 'processors', 'run', 'qa'],
  serve: ['core', 'conf', 'db', 'processors', 'run', 'docs'],
  creator: ['core'],
  cli: ['core', 'conf', 'db', 'processors', 'run', 'workers', 'qa', 'docs', 'serve', 'creator'],
  index: ['core', 'conf', 'db', 'processors', 'run', 'workers', 'qa', 'docs', 'serve', 'creator', 'cli'],
};

/** Modules whose exports are used from outside src/: the package's entry points and files loaded by path. */
export const ENTRY_POINTS = [
  'src/index.ts', // the public API ("." in package.json)
  'src/cli/main.ts', // "./cli" in package.json; bin/corral.js and every pipeline's in_corral.js
];

/** Exports that stay although nothing uses them, as "src/<module>: <name>", each with its reason. */
export const UNUSED_EXPORTS_ALLOWED = [
  // Called by the stub of dist/cli/main.js (scripts/bundle-corral.js), before corral.cjs loads.
  'src/workers/spare.ts: forkSpareForCommandLine',
];

/** The layer of a module, from its path relative to src/. */
function layerOf(relative) {
  const [first, ...rest] = relative.split('/');
  if (rest.length > 0) return first;
  if (first === 'version.ts') return 'core';
  if (first === 'index.ts') return 'index';
  return undefined;
}

function listFiles(dir, pattern) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && pattern.test(entry.name) && !entry.name.endsWith('.d.ts'))
    .map((entry) => path.join(entry.parentPath ?? entry.path, entry.name))
    .filter((file) => !file.split(path.sep).includes('node_modules'))
    .sort();
}

/** True when `node` (an identifier) stands for a value, false when only for a type. */
function isValueUse(node) {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return false;
  if (ts.isQualifiedName(parent) && parent.right === node) return false;
  if ((ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent) || ts.isMethodDeclaration(parent)
    || ts.isPropertySignature(parent) || ts.isMethodSignature(parent) || ts.isGetAccessor(parent) || ts.isSetAccessor(parent)
    || ts.isEnumMember(parent) || ts.isBindingElement(parent) && parent.propertyName === node) && parent.name === node) return false;
  if (ts.isBindingElement(parent) && parent.propertyName === node) return false;
  if (ts.isExportSpecifier(parent)) return !parent.isTypeOnly && !parent.parent.parent.isTypeOnly;
  for (let at = node; at.parent !== undefined; at = at.parent) {
    const up = at.parent;
    // `class A extends B` uses B at run time; `implements I` and interface `extends` do not.
    if (ts.isHeritageClause(up)) return up.token === ts.SyntaxKind.ExtendsKeyword && (ts.isClassDeclaration(up.parent) || ts.isClassExpression(up.parent));
    if (ts.isTypeNode(at) && !ts.isExpressionWithTypeArguments(at)) return false;
    if (ts.isInterfaceDeclaration(up) || ts.isTypeAliasDeclaration(up)) return false;
  }
  return true;
}

/** The names a file uses as values (identifiers outside types), to tell which imports tsc keeps. */
function valueNames(sourceFile) {
  const names = new Set();
  const visit = (node) => {
    if (ts.isImportDeclaration(node)) return;
    if (ts.isIdentifier(node) && isValueUse(node)) names.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return names;
}

/**
 * One module's imports and exports. Each import: { specifier, line, runtime, dynamic, names }
 * (names: the imported names, '*' for a namespace, 'default'); each export: name → kind ('value' | 'type').
 */
function readModule(file) {
  const text = fs.readFileSync(file, 'utf8');
  const kind = file.endsWith('.ts') ? ts.ScriptKind.TS : ts.ScriptKind.JS;
  const sourceFile = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, kind);
  const used = valueNames(sourceFile);
  const identifierCounts = new Map();
  const count = (node) => {
    if (ts.isIdentifier(node)) identifierCounts.set(node.text, (identifierCounts.get(node.text) ?? 0) + 1);
    ts.forEachChild(node, count);
  };
  count(sourceFile);
  const imports = [];
  const exports = new Map();
  const lineOf = (node) => sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile)).line + 1;
  const hasExport = (node) => ts.getModifiers?.(node)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) ?? false;
  const hasDefault = (node) => ts.getModifiers?.(node)?.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword) ?? false;

  for (const statement of sourceFile.statements) {
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      const clause = statement.importClause;
      const names = [];
      const locals = [];
      let runtime;
      if (clause === undefined) {
        runtime = true; // `import './x.js'`: for its side effects
      } else {
        if (clause.name) { names.push('default'); if (!clause.isTypeOnly) locals.push(clause.name.text); }
        const bindings = clause.namedBindings;
        if (bindings && ts.isNamespaceImport(bindings)) { names.push('*'); if (!clause.isTypeOnly) locals.push(bindings.name.text); }
        if (bindings && ts.isNamedImports(bindings)) {
          for (const element of bindings.elements) {
            names.push((element.propertyName ?? element.name).text);
            if (!clause.isTypeOnly && !element.isTypeOnly) locals.push(element.name.text);
          }
        }
        runtime = locals.some((local) => used.has(local));
      }
      imports.push({ specifier: statement.moduleSpecifier.text, line: lineOf(statement), runtime, dynamic: false, names });
    } else if (ts.isExportDeclaration(statement)) {
      const clause = statement.exportClause;
      if (statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)) {
        const names = clause && ts.isNamedExports(clause) ? clause.elements.map((e) => (e.propertyName ?? e.name).text) : ['*'];
        const valueNamesReexported = clause && ts.isNamedExports(clause) ? clause.elements.filter((e) => !e.isTypeOnly).map((e) => (e.propertyName ?? e.name).text) : ['*'];
        imports.push({
          specifier: statement.moduleSpecifier.text, line: lineOf(statement), dynamic: false, names,
          // Refined once the target's exports are known: re-exporting only types is dropped by tsc.
          runtime: !statement.isTypeOnly && valueNamesReexported.length > 0, reexported: statement.isTypeOnly ? [] : valueNamesReexported,
        });
      }
      if (clause && ts.isNamedExports(clause)) {
        for (const element of clause.elements) exports.set(element.name.text, statement.isTypeOnly || element.isTypeOnly ? 'type' : 'value');
      }
    } else if (ts.isExportAssignment(statement)) {
      exports.set('default', 'value');
    } else if (hasExport(statement)) {
      const kind = ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement) ? 'type' : 'value';
      if (hasDefault(statement)) exports.set('default', kind);
      else if (ts.isVariableStatement(statement)) {
        for (const declaration of statement.declarationList.declarations) {
          if (ts.isIdentifier(declaration.name)) exports.set(declaration.name.text, 'value');
        }
      } else if (statement.name) exports.set(statement.name.text, kind);
    }
  }
  // import('./x.js'): loaded on first use. Counts for the direction, not for cycles.
  const visit = (node) => {
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      if (argument && ts.isStringLiteralLike(argument)) {
        imports.push({ specifier: argument.text, line: lineOf(node), runtime: true, dynamic: true, names: destructuredNames(node) });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return { imports, exports, identifierCounts };
}

/**
 * Folders outside src/ whose imports of src/ modules count: `bin` and `templates` (what
 * a pipeline runs, e.g. templates/qa/pipeline.test.js) as uses; the others only keep
 * alive a name that src/ uses too (a test of dead code does not make it live).
 */
const PRODUCTION_OUTSIDE_SRC = ['bin', 'templates'];
const TESTS_OUTSIDE_SRC = ['test', 'bench', 'scripts', 'examples'];

/** The src/ module a file outside src/ imports ('../src/x.js', or the compiled '../dist/x.js'). */
function resolveOutside(root, fromFile, specifier) {
  if (!specifier.startsWith('.')) return undefined;
  const target = path.resolve(path.dirname(fromFile), specifier);
  const dist = path.join(root, 'dist') + path.sep;
  const source = target.startsWith(dist) ? path.join(root, 'src', target.slice(dist.length)) : target;
  return resolve(path.join(path.dirname(source), 'x'), `./${path.basename(source)}`);
}

/** `const { a, b: c } = await import(…)` → ['a', 'b']; any other use of the module → ['*'] (all of it). */
function destructuredNames(call) {
  const awaited = ts.isAwaitExpression(call.parent) ? call.parent : undefined;
  const declaration = awaited && ts.isVariableDeclaration(awaited.parent) ? awaited.parent : undefined;
  if (!declaration || !ts.isObjectBindingPattern(declaration.name)) return ['*'];
  const names = [];
  for (const element of declaration.name.elements) {
    const key = element.propertyName ?? element.name;
    if (element.dotDotDotToken || !ts.isIdentifier(key)) return ['*'];
    names.push(key.text);
  }
  return names;
}

/** The module file a relative specifier names ('./x.js' → x.ts), or undefined for a package. */
function resolve(fromFile, specifier) {
  if (!specifier.startsWith('.')) return undefined;
  const target = path.resolve(path.dirname(fromFile), specifier);
  for (const candidate of [target.replace(/\.js$/, '.ts'), target, `${target}.ts`, path.join(target, 'index.ts')]) {
    if (candidate.endsWith('.ts') && fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** Strongly connected components with more than one module (or a module importing itself): the cycles. */
function cyclesOf(graph) {
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const cycles = [];
  let counter = 0;
  const connect = (node) => {
    index.set(node, counter);
    low.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        connect(next);
        low.set(node, Math.min(low.get(node), low.get(next)));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node), index.get(next)));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? new Set()).has(node)) cycles.push(component.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) connect(node);
  return cycles;
}

/** One path around a cycle, for the message: a → b → … → a. */
function pathAround(graph, members) {
  const inCycle = new Set(members);
  const start = members[0];
  const previous = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift();
    for (const next of graph.get(node) ?? []) {
      if (!inCycle.has(next)) continue;
      if (next === start) {
        const route = [start];
        for (let at = node; at !== undefined && at !== start; at = previous.get(at)) route.splice(1, 0, at);
        return [...route, start];
      }
      if (!previous.has(next)) { previous.set(next, node); queue.push(next); }
    }
  }
  return members;
}

/** All problems of the tree at `root`, as printable lines (empty: all is well). */
export function checkLayers(root, { listNeedless = false } = {}) {
  const srcDir = path.join(root, 'src');
  const rel = (file) => path.relative(root, file).split(path.sep).join('/');
  const modules = new Map(listFiles(srcDir, /\.ts$/).map((file) => [file, readModule(file)]));
  const problems = [];
  const notes = [];
  const layerCycle = cyclesOf(new Map(Object.entries(ALLOWED).map(([layer, allowed]) => [layer, new Set(allowed)])));
  for (const cycle of layerCycle) problems.push(`scripts/check-layers.js: the ALLOWED table has a cycle between folders: ${cycle.join(', ')}`);

  const runtimeGraph = new Map();
  /** module → names imported from it by other modules of src/ ('*': all). */
  const importedNames = new Map();
  const markImported = (file, names) => {
    if (!importedNames.has(file)) importedNames.set(file, new Set());
    for (const name of names) importedNames.get(file).add(name);
  };
  for (const [file, { imports }] of modules) {
    const fromLayer = layerOf(path.relative(srcDir, file).split(path.sep).join('/'));
    runtimeGraph.set(file, new Set());
    for (const entry of imports) {
      const target = resolve(file, entry.specifier);
      if (target === undefined) {
        if (entry.specifier.startsWith('.') && !path.resolve(path.dirname(file), entry.specifier).startsWith(srcDir)) {
          // Outside src/ (the templates' ESLint preset, by path): not a layer.
          continue;
        }
        if (entry.specifier.startsWith('.')) problems.push(`${rel(file)}:${entry.line}: cannot find the module '${entry.specifier}'`);
        continue;
      }
      if (!target.startsWith(srcDir + path.sep)) continue;
      if (entry.reexported !== undefined) {
        const targetExports = modules.get(target)?.exports ?? new Map();
        entry.runtime = entry.reexported.some((name) => name === '*' || targetExports.get(name) !== 'type');
      }
      markImported(target, entry.names);
      const toLayer = layerOf(path.relative(srcDir, target).split(path.sep).join('/'));
      if (fromLayer !== toLayer && !(ALLOWED[fromLayer] ?? []).includes(toLayer)) {
        problems.push(`${rel(file)}:${entry.line}: ${fromLayer} must not import ${toLayer} (${rel(target)}); ${fromLayer} may import ${(ALLOWED[fromLayer] ?? []).join(', ') || 'nothing of corral'} (docs/architecture.md, "Dependency direction")`);
      }
      if (entry.runtime && !entry.dynamic) runtimeGraph.get(file).add(target);
    }
  }

  for (const cycle of cyclesOf(runtimeGraph)) {
    problems.push(`${rel(cycle[0])}: import cycle at run time: ${pathAround(runtimeGraph, cycle).map(rel).join(' → ')}; move what both need into a module of its own, or make one side \`import type\``);
  }

  // Imports of src/ modules from the tests, the benchmarks, the scripts and the examples.
  const outsideNames = new Map();
  for (const dir of [...PRODUCTION_OUTSIDE_SRC, ...TESTS_OUTSIDE_SRC]) {
    const uses = PRODUCTION_OUTSIDE_SRC.includes(dir) ? importedNames : outsideNames;
    for (const file of listFiles(path.join(root, dir), /\.(ts|js|mjs|cjs)$/)) {
      for (const entry of readModule(file).imports) {
        const target = resolveOutside(root, file, entry.specifier);
        if (target === undefined || !modules.has(target)) continue;
        if (!uses.has(target)) uses.set(target, new Set());
        for (const name of entry.names) uses.get(target).add(name);
      }
    }
  }
  const entryPoints = new Set(ENTRY_POINTS.map((entry) => path.join(root, entry)));
  const allowed = new Set(UNUSED_EXPORTS_ALLOWED);
  for (const [file, { exports, identifierCounts }] of modules) {
    if (entryPoints.has(file)) continue;
    const inside = importedNames.get(file) ?? new Set();
    const outside = outsideNames.get(file) ?? new Set();
    if (inside.has('*')) continue;
    for (const [name, kind] of exports) {
      if (inside.has(name) || allowed.has(`${rel(file)}: ${name}`)) continue;
      const local = (identifierCounts.get(name) ?? 0) > 1;
      if (local) {
        // Used in its own module: live code; only the `export` may be needless.
        if (listNeedless && !(outside.has(name) || outside.has('*'))) notes.push(`${rel(file)}: export ${name} is used only in its own module`);
        continue;
      }
      const usedBy = outside.has(name) || outside.has('*') ? 'only by tests' : 'nowhere';
      problems.push(`${rel(file)}: export ${kind === 'type' ? 'type ' : ''}${name} is used ${usedBy}: no module of src/ imports it and its own module does not use it; delete it (and its tests), or list "${rel(file)}: ${name}" in UNUSED_EXPORTS_ALLOWED of scripts/check-layers.js with the reason`);
    }
  }
  for (const note of notes) problems.push(note);
  return problems;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const listNeedless = process.argv.includes('--needless');
  const root = path.resolve(process.argv.slice(2).find((arg) => !arg.startsWith('--')) ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
  const problems = checkLayers(root, { listNeedless });
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) {
    console.error(`check-layers: ${problems.length} problem${problems.length === 1 ? '' : 's'} in ${path.join(root, 'src')}`);
    process.exitCode = 1;
  }
}
