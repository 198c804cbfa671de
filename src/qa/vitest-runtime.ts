/**
 * Runs inside a vitest worker (loaded natively, never transformed by vite, so the
 * pipeline's classes and corral's are the same objects everywhere): turns every
 * TestCase of the pipeline's tests module into a vitest test.
 */
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import type { LogLevel } from '../core/logger.js';
import { loadSettings, enableTypeScript } from '../conf/load.js';
import { openEnvironment } from '../run/environment.js';
import type { TestSelection } from './selection.js';
import { selectSubjects } from './selection.js';
import { isTestCaseClass, type TestCaseClass } from './test-case.js';
import { findTestsModule } from './tests-module.js';
import { mapStacksThroughNodeSourceMaps } from './stack-positions.js';

interface VitestApi {
  describe(name: string, body: () => void): void;
  afterAll(body: () => void): void;
  test: ((name: string, body: () => Promise<void>, timeout?: number) => void) & { skip(name: string, body: () => void): void };
}

/** Set by the `test` command in the environment of the vitest run. */
export interface WorkerOptions {
  readonly settingsFile: string;
  readonly selection: TestSelection;
  readonly logLevel: LogLevel;
  readonly timeoutMs: number;
}

export const WORKER_OPTIONS_ENV = 'CORRAL_TEST_OPTIONS';

export async function registerPipelineTests(api: VitestApi): Promise<void> {
  const options = JSON.parse(process.env[WORKER_OPTIONS_ENV] ?? 'null') as WorkerOptions | null;
  if (!options) throw new Error(`${WORKER_OPTIONS_ENV} is not set: pipeline tests run through 'node in_corral.js test'`);
  const settings = await loadSettings(options.settingsFile);
  const testsFile = findTestsModule(settings);
  if (!testsFile) return;
  if (process.env.NODE_V8_COVERAGE) {
    // vitest ends its workers without a normal exit, which is when V8 would write
    // the coverage of this process: write it explicitly once the tests are done.
    api.afterAll(() => v8.takeCoverage());
  }
  await enableTypeScript();
  mapStacksThroughNodeSourceMaps();
  const module = (await import(pathToFileURL(testsFile).href)) as Record<string, unknown>;
  const cases = Object.values(module).filter(isTestCaseClass);
  const { registered, selected } = selectSubjects(settings, options.selection);

  const bySubject = new Map<unknown, TestCaseClass[]>();
  for (const Case of cases) bySubject.set(Case.subject, [...(bySubject.get(Case.subject) ?? []), Case]);
  for (const [subject, group] of bySubject) {
    const subjectName = typeof subject === 'function' ? subject.name : 'no subject';
    api.describe(subjectName, () => {
      for (const Case of group) {
        if (subject === undefined || !registered.includes(subject as never)) {
          api.test(Case.name, async () => {
            throw new Error(
              subject === undefined
                ? `${Case.name} has no subject: add static subject = <the Loader, Step, Alert or Command it tests>`
                : `${Case.name} tests ${subjectName}, which is not registered in the settings (loader, steps, alerts or commands)`,
            );
          });
          continue;
        }
        if (!selected.has(subject)) {
          api.test.skip(Case.name, () => undefined);
          continue;
        }
        api.test(
          Case.name,
          async () => {
            // The `test` command checked the settings (and logged their warnings) once.
            const env = await openEnvironment({ settingsFile: options.settingsFile, mode: 'test', logLevel: options.logLevel, settingsChecked: true });
            let failure: unknown;
            try {
              await new Case().run(env);
            } catch (error) {
              failure = error;
              throw error;
            } finally {
              await env.close(failure);
            }
          },
          options.timeoutMs,
        );
      }
    });
  }
}
