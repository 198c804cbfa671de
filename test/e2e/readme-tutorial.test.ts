/**
 * The README's tutorial, followed as a reader follows it: every file it shows is
 * written from the README's own code blocks, every "Register ... in settings.ts"
 * sentence is applied as it says, and every command it shows is run, in order, in a
 * scaffolded `exo` pipeline (SQLite, the tutorial's database). A README edit that
 * breaks a step fails here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { createPipeline, type ScaffoldedPipeline } from '../helpers/pipeline.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { describeResult, runCli, type CliResult } from '../helpers/run-cli.js';
import { tempDirForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirForFile('corral-e2e-tutorial-');
const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const tutorial = readme.slice(readme.indexOf('\n## Tutorial'), readme.indexOf('\n## Concepts'));

/** Reads the tutorial in order, as a reader does. */
class Reader {
  private at = 0;

  /** Moves past `marker` (which must come later in the tutorial). */
  skipTo(marker: string): void {
    const found = tutorial.indexOf(marker, this.at);
    if (found < 0) throw new Error(`The tutorial no longer says, after offset ${this.at}: ${marker}`);
    this.at = found + marker.length;
  }

  /** The next fenced code block after `marker`. */
  blockAfter(marker: string): string {
    this.skipTo(marker);
    const match = /```\w*\n([\s\S]*?)```/.exec(tutorial.slice(this.at));
    if (!match) throw new Error(`No code block after: ${marker}`);
    this.at += match.index + match[0].length;
    return match[1]!;
  }

  /** The next "Register ... in `settings.ts`: add `import ...` ... and `key: Value,`" sentence: its import and its entry. */
  nextRegistration(): { importLine: string; entry: string } {
    const match = /Register [^\n]*? in `settings\.ts`: add `(import [^`]+)`[^`\n]*`([^`]+)`/.exec(tutorial.slice(this.at));
    if (!match) throw new Error('No more "Register ... in settings.ts" sentence');
    this.at += match.index + match[0].length;
    return { importLine: match[1]!, entry: match[2]! };
  }
}

/** The `node in_corral.js ...` lines of a shell block, as argument lists (comments dropped). */
function commandsOf(block: string): string[][] {
  return block
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line.startsWith('node in_corral.js '))
    .map((line) => line.slice('node in_corral.js '.length).split(/\s+/));
}

/** Does what a "Register" sentence says: the import at the top, the entry inside defineSettings. */
function register(pipe: ScaffoldedPipeline, { importLine, entry }: { importLine: string; entry: string }): void {
  const lines = fs.readFileSync(pipe.settingsFile, 'utf8').split('\n');
  const lastImport = lines.reduce((last, line, i) => (line.startsWith('import ') ? i : last), -1);
  lines.splice(lastImport + 1, 0, importLine);
  const setup = lines.findIndex((line) => line.trim() === 'pipelineSetup: Pipeline,');
  lines.splice(setup, 0, `  ${entry}`);
  fs.writeFileSync(pipe.settingsFile, lines.join('\n'));
}

/**
 * What `npm install <name>` does in the pipeline, offline: the package as corral's
 * checkout has it (a devDependency there) linked into node_modules, and listed in
 * package.json's dependencies.
 */
function installFromCheckout(pipe: ScaffoldedPipeline, name: string): void {
  const source = path.join(REPO_ROOT, 'node_modules', name);
  const { version } = JSON.parse(fs.readFileSync(path.join(source, 'package.json'), 'utf8')) as { version: string };
  fs.symlinkSync(source, path.join(pipe.root, 'node_modules', name), 'dir');
  const manifestFile = path.join(pipe.root, 'package.json');
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as { dependencies: Record<string, string> };
  manifest.dependencies[name] = `^${version}`;
  fs.writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Sorted non-blank lines, trimmed: the same file whatever the order of its imports and entries. */
const linesOf = (text: string) =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .sort();

describe('the README tutorial, step by step', () => {
  const reader = new Reader();
  let pipe: ScaffoldedPipeline;
  const cli = async (args: readonly string[], code = 0, input?: string): Promise<CliResult> => {
    // With `input`, as a user typing it; without, standard input is closed (a script, CI).
    const result = input === undefined ? await pipe.cli(args) : await runCli(['in_corral.js', ...args], { cwd: pipe.root, input });
    expect(result.code, `node in_corral.js ${args.join(' ')}\n${describeResult(result)}`).toBe(code);
    return result;
  };

  beforeAll(async () => {
    pipe = await createPipeline(tempDir(), 'exo');
  });

  test('1. when the scaffold is tried as the tutorial says then createdb --noinput, run-all and test pass', async () => {
    reader.skipTo('### 1. Create the pipeline');
    reader.skipTo('The scaffold works as generated. Try `');
    const tried = tutorial.slice(tutorial.indexOf('Try `', 0) + 5).split('`')[0]!;
    const commands = tried.split('&&').map((part) => part.trim().replace(/^node in_corral\.js /, '').split(/\s+/));
    expect(commands).toEqual([['createdb', '--noinput'], ['run-all'], ['test']]);
    for (const args of commands) await cli(args);
    for (const file of ['exo-dev.db', 'exo-dev.db-wal', 'exo-dev.db-shm', 'my_alert.log']) fs.rmSync(path.join(pipe.root, file), { force: true });
  });

  test('2. when the models and the cut-down settings are written then the pipeline type-checks', async () => {
    fs.writeFileSync(pipe.file('models.ts'), reader.blockAfter('Replace `exo/models.ts`:'));
    const rm = reader.blockAfter('Remove them; the next sections write new ones:').trim();
    expect(rm).toMatch(/^rm /);
    for (const file of rm.split(/\s+/).slice(1)) fs.rmSync(path.join(pipe.root, file));
    fs.writeFileSync(pipe.settingsFile, reader.blockAfter('Then cut `exo/settings.ts` down'));
    await cli(['typecheck']);
  });

  test('3. when createdb runs without a terminal then it creates nothing and exits 1; answered yes (or with --noinput) it creates the tables', async () => {
    const [args] = commandsOf(reader.blockAfter('### 3. Create the database'));
    expect(args).toEqual(['createdb']);
    const unanswered = await cli(args!, 1);
    // After the question, on a line of its own.
    expect(unanswered.stderr).toMatch(/\[yes\/no\] \nNothing was created: no answer came \(standard input is closed\)\. In scripts, run: createdb --noinput\n$/);
    const answered = await cli(args!, 0, 'yes\n');
    for (const table of ['Planet', 'HabitableZoneStats', 'corral_alerted', 'corral_failures', 'corral_runs']) expect(answered.stdout).toContain(table);
  });

  test('4. when the loader is written and registered then load stores the 2950 planets, and a second load adds none', async () => {
    fs.copyFileSync(path.join(REPO_ROOT, 'examples/exoplanets/exoplanets.csv'), path.join(pipe.root, 'exoplanets.csv'));
    expect(reader.blockAfter('Install it in the pipeline folder:').trim()).toBe('npm install csv-parse');
    installFromCheckout(pipe, 'csv-parse');
    fs.writeFileSync(pipe.file('load.ts'), reader.blockAfter('Create `exo/load.ts`:'));
    register(pipe, reader.nextRegistration());
    const block = reader.blockAfter('');
    expect(commandsOf(block)).toEqual([['load']]);
    expect(block).toContain('rows=2950');
    expect((await cli(['load'])).stderr).toMatch(/Done loader rows=2950/);
    expect((await cli(['load'])).stderr).toMatch(/Done loader rows=0/);
  });

  test('5-6. when the step is written and registered then every run command the tutorial shows works, run -sg stars included', async () => {
    fs.writeFileSync(pipe.file('steps.ts'), reader.blockAfter('Create `exo/steps.ts`:'));
    register(pipe, reader.nextRegistration());
    const commands = commandsOf(reader.blockAfter('### 6. Run the pipeline'));
    expect(commands).toContainEqual(['run', '-sg', 'stars']);
    const results: CliResult[] = [];
    for (const args of commands) results.push(await cli(args));
    expect(results[0]!.stderr).toMatch(/ok +step +HabitableZone +2,884 rows/);
    // Run again, the step finds 0 rows: its conditions leave out every planet.
    for (const result of results.slice(1)) expect(result.stderr).toMatch(/ok +step +HabitableZone +0 rows/);
  });

  test('7. when the alert is written and registered then check-alerts writes 60 lines, and a second run none', async () => {
    fs.writeFileSync(pipe.file('alerts.ts'), reader.blockAfter('Create `exo/alerts.ts`:'));
    register(pipe, reader.nextRegistration());
    const block = reader.blockAfter('');
    expect(commandsOf(block)).toEqual([['check-alerts']]);
    expect(block).toContain('writes 60 lines');
    const log = path.join(pipe.root, 'in_habzone.log');
    await cli(['check-alerts']);
    expect(fs.readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(60);
    await cli(['check-alerts']);
    expect(fs.readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(60);
  });

  test('8. when the tests are written then every test command the tutorial shows passes', async () => {
    const tests = reader.blockAfter('Create `exo/tests.ts`:');
    // Literal expectations, not the formula under test.
    expect(tests).not.toMatch(/5\.670374419e-8|Math\.PI/);
    fs.writeFileSync(pipe.file('tests.ts'), tests);
    const commands = commandsOf(reader.blockAfter('Expected values are literals'));
    expect(commands).toEqual([['test'], ['test', '-v'], ['test', '-s', 'HabitableZone', '-ea'], ['test', '--reporter', 'junit', '--output-file', 'test-results.xml']]);
    for (const args of commands) {
      const result = await cli(args);
      expect(result.stdout).toMatch(/Tests +\d+ passed/);
      expect(result.stdout).not.toMatch(/failed/);
    }
    const junit = fs.readFileSync(path.join(pipe.root, 'test-results.xml'), 'utf8');
    expect(junit).toMatch(/<testsuites[^>]* failures="0"/);
  });

  test('9. when the command is written, registered and tested then habitable -n 3 prints three planets, the settings are the finished ones, and the tests pass', async () => {
    fs.writeFileSync(pipe.file('commands.ts'), reader.blockAfter('Create `exo/commands.ts`:'));
    register(pipe, reader.nextRegistration());
    reader.skipTo('`node in_corral.js habitable -n 3` prints three planets');
    const habitable = await cli(['habitable', '-n', '3']);
    expect(habitable.stdout.trim().split('\n')).toHaveLength(3);

    // The import line at the top, after the other imports; the class at the end.
    const addition = reader.blockAfter('Add to `exo/tests.ts`');
    const imports = addition.split('\n').filter((line) => line.startsWith('import '));
    const rest = addition.split('\n').filter((line) => !line.startsWith('import ')).join('\n');
    const lines = fs.readFileSync(pipe.file('tests.ts'), 'utf8').split('\n');
    const lastImport = lines.reduce((last, line, i) => (line.startsWith('import ') ? i : last), -1);
    lines.splice(lastImport + 1, 0, ...imports);
    fs.writeFileSync(pipe.file('tests.ts'), `${lines.join('\n')}\n${rest}`);

    const finished = reader.blockAfter('The finished `exo/settings.ts`:');
    expect(linesOf(fs.readFileSync(pipe.settingsFile, 'utf8'))).toEqual(linesOf(finished));
    fs.writeFileSync(pipe.settingsFile, finished);
    const result = await cli(['test', '-v']);
    expect(result.stdout).toContain('HabitableCommandTest');
    expect(result.stdout).toMatch(/Tests +(\d+) passed \(\1\)/);
  });
});
