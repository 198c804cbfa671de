import type { CliCommand } from '../command-spec.js';

/**
 * The built-in commands, in the order `--help` lists them, each with the import of
 * its module. A command line imports only the module of the command it runs (a
 * command's module pulls in what its work needs: the workers, the status page, the
 * QA toolchain's wrappers, ...), so that `lssteps` does not pay for `serve`.
 */
const BUILTIN: ReadonlyArray<readonly [name: string, load: () => Promise<CliCommand>]> = [
  ['create', () => import('./create.js').then((m) => m.create)],
  ['createdb', () => import('./createdb.js').then((m) => m.createdb)],
  ['makemigrations', () => import('./makemigrations.js').then((m) => m.makemigrations)],
  ['migrate', () => import('./migrate.js').then((m) => m.migrate)],
  ['migrations', () => import('./migrations.js').then((m) => m.migrations)],
  ['load', () => import('./load.js').then((m) => m.load)],
  ['run', () => import('./run.js').then((m) => m.run)],
  ['check-alerts', () => import('./check-alerts.js').then((m) => m.checkAlerts)],
  ['run-all', () => import('./run-all.js').then((m) => m.runAll)],
  ['lssteps', () => import('./listings.js').then((m) => m.lssteps)],
  ['lsalerts', () => import('./listings.js').then((m) => m.lsalerts)],
  ['groups', () => import('./listings.js').then((m) => m.groups)],
  ['status', () => import('./status.js').then((m) => m.status)],
  ['runs', () => import('./runs.js').then((m) => m.runs)],
  ['failures', () => import('./failures.js').then((m) => m.failures)],
  ['serve', () => import('./serve.js').then((m) => m.serve)],
  ['test', () => import('./test.js').then((m) => m.test)],
  ['coverage', () => import('./coverage.js').then((m) => m.coverage)],
  ['style', () => import('./style.js').then((m) => m.style)],
  ['typecheck', () => import('./typecheck.js').then((m) => m.typecheck)],
  ['qareport', () => import('./qareport.js').then((m) => m.qareport)],
  ['create-doc', () => import('./create-doc.js').then((m) => m.createDoc)],
  ['create-models-diagram', () => import('./create-models-diagram.js').then((m) => m.createModelsDiagram)],
  ['profile', () => import('./profile.js').then((m) => m.profile)],
  ['shell', () => import('./shell.js').then((m) => m.shell)],
  ['dbshell', () => import('./dbshell.js').then((m) => m.dbshell)],
  ['exec', () => import('./exec.js').then((m) => m.exec)],
];

/** The names of the built-in commands, in `--help` order, known without importing any of them. */
export const builtinCommandNames: readonly string[] = BUILTIN.map(([name]) => name);

/** Imports the built-in commands named (all of them by default), in `--help` order. */
export async function loadBuiltinCommands(names: readonly string[] = builtinCommandNames): Promise<CliCommand[]> {
  const wanted = BUILTIN.filter(([name]) => names.includes(name));
  const commands = await Promise.all(wanted.map(([, load]) => load()));
  commands.forEach((command, i) => {
    // The table above names each command twice (here and in its spec): a slip would run the wrong one.
    if (command.name !== wanted[i]![0]) throw new Error(`Built-in command table: '${wanted[i]![0]}' loads the command '${command.name}'`);
  });
  return commands;
}
