import fs from 'node:fs';
import { Option } from 'commander';
import { MACHINE_REPORTERS, runPipelineTests, type MachineReporter } from '../../qa/run-tests.js';
import { CommandError } from '../../core/errors.js';
import { defineCommand, envOf } from '../command-spec.js';

/** The options of `test`, as `configure` declares them. */
type TestOptions = {
  failfast?: boolean;
  verbose: number;
  vverbose?: boolean;
  defaultLogging?: boolean;
  excludeLoader?: boolean;
  excludeSteps?: boolean;
  excludeAlerts?: boolean;
  excludeCommands?: boolean;
  steps?: string[];
  stepGroups?: string[];
  alerts?: string[];
  alertGroups?: string[];
  commands?: string[];
  reporter?: MachineReporter;
  outputFile?: string;
  reportJson?: string;
};

export const test = defineCommand<TestOptions>({
  name: 'test',
  summary: "Run the pipeline's TestCases, each on a fresh throw-away database (test mode)",
  // Each TestCase opens its own test database; the command itself needs none.
  mode: 'out',
  toolchain: ['vitest'],
  importsSources: true,
  configure(cmd) {
    cmd
      .option('-f, --failfast', 'stop at the first failing test')
      .option('-v, --verbose', 'list every test', (_v, previous: number) => previous + 1, 0)
      .option('--vverbose', 'list every test and show the pipeline logs')
      .option('--default-logging', "keep the pipeline's log level (also -dl)")
      .option('--exclude-loader', "skip the loader's tests (also -el)")
      .option('--exclude-steps', "skip the steps' tests (also -es)")
      .option('--exclude-alerts', "skip the alerts' tests (also -ea)")
      .option('--exclude-commands', "skip the commands' tests (also -ec)")
      .option('-s, --steps <names...>', 'only the tests of these steps')
      .option('--step-groups <groups...>', 'only the tests of the steps in these groups (also -sg)')
      .option('-a, --alerts <names...>', 'only the tests of these alerts')
      .option('--alert-groups <groups...>', 'only the tests of the alerts in these groups (also -ag)')
      .option('-c, --commands <names...>', 'only the tests of these commands')
      .addOption(new Option('--reporter <name>', 'also write a report for CI systems: junit (JUnit XML) or json').choices([...MACHINE_REPORTERS]))
      .option('--output-file <file>', 'where --reporter writes (default: standard output, instead of the console report)')
      // For coverage and qareport, which run the tests in a subprocess.
      .addOption(new Option('--report-json <file>', 'write the outcome as JSON').hideHelp());
  },
  async handle(context, options) {
    if (options.outputFile !== undefined && options.reporter === undefined) {
      throw new CommandError('--output-file needs a --reporter to write', { hint: 'Add --reporter junit (JUnit XML) or --reporter json' });
    }
    const env = envOf(context);
    const outcome = await runPipelineTests(env.settings, {
      selection: {
        excludeLoader: options.excludeLoader,
        excludeSteps: options.excludeSteps,
        excludeAlerts: options.excludeAlerts,
        excludeCommands: options.excludeCommands,
        steps: options.steps,
        stepGroups: options.stepGroups,
        alerts: options.alerts,
        alertGroups: options.alertGroups,
        commands: options.commands,
      },
      failFast: Boolean(options.failfast),
      verbosity: options.vverbose ? 2 : Number(options.verbose ?? 0),
      defaultLogging: Boolean(options.defaultLogging),
      output: context.output,
      reporter: options.reporter,
      outputFile: options.outputFile,
    });
    if (options.reportJson) fs.writeFileSync(options.reportJson, JSON.stringify(outcome, null, 2));
    return outcome.failed > 0 ? 1 : 0;
  },
});
