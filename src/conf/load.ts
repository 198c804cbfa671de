import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ImproperlyConfigured, describeError } from '../core/errors.js';
import { compileCacheEnabled, compileSettings } from './compile-cache.js';
import { resolveSettings, type ResolvedSettings } from './settings.js';

let tsxRegistered = false;

/**
 * Lets Node import the pipeline's TypeScript with no build step. tsx caches what it
 * compiles on disk, so forked children reuse the parent's work.
 */
export async function enableTypeScript(): Promise<void> {
  if (tsxRegistered) return;
  const { register } = await import('tsx/esm/api');
  register();
  // Stacks (--traceback, test failures) then point at the pipeline's .ts lines.
  process.setSourceMapsEnabled(true);
  tsxRegistered = true;
}

export interface LoadOptions {
  /**
   * Import the pipeline's TypeScript from the compile cache (conf/compile-cache.ts)
   * rather than through tsx. Commands whose own code imports the pipeline's sources
   * (test, shell, exec, ...) must not, or they would see two copies of each class.
   */
  readonly compiled?: boolean;
  /**
   * With `compiled`: the compiled settings module the parent process imported
   * (`compiledSettingsModule`), imported as it is. A forked child so skips the cache's
   * fingerprint (a listing and a stat of every source file), and runs the very build
   * its parent checked. When that build is gone, the cache is asked as usual.
   */
  readonly compiledModule?: string | undefined;
  /** The settings were checked by the parent process, with the same environment: skip the schema. */
  readonly checked?: boolean;
}

let lastFallback: string | undefined;
/** Settings file → the compiled module this process imported for it. */
const compiledModules = new Map<string, string>();

/** The compiled module this process imported for `settingsFile` (undefined: loaded through tsx, or not loaded). */
export function compiledSettingsModule(settingsFile: string): string | undefined {
  return compiledModules.get(settingsFile);
}

/** Why the last `loadSettings` with `compiled` loaded the sources through tsx instead (for a debug line). */
export function compileFallbackReason(): string | undefined {
  return lastFallback;
}

/** Imports and validates the settings module. */
export async function loadSettings(file: string, options: LoadOptions = {}): Promise<ResolvedSettings> {
  if (!fs.existsSync(file)) {
    throw new ImproperlyConfigured(`Settings file not found: ${file}`, {
      hint: 'Check the path in in_corral.js (or CORRAL_SETTINGS); `corral create NAME` writes one',
    });
  }
  let moduleFile = file;
  if (/\.[cm]?tsx?$/.test(file)) {
    const given = options.compiled && options.compiledModule !== undefined && fs.existsSync(options.compiledModule) ? options.compiledModule : undefined;
    const outcome = given !== undefined ? { file: given } : options.compiled && compileCacheEnabled() ? await compileSettings(file) : undefined;
    lastFallback = outcome?.reason;
    const compiled = outcome?.file;
    if (compiled) {
      moduleFile = compiled;
      compiledModules.set(file, compiled);
      // Stacks (--traceback) still point at the .ts lines, through the inline source maps.
      process.setSourceMapsEnabled(true);
    } else {
      await enableTypeScript();
    }
  }
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(moduleFile).href)) as Record<string, unknown>;
  } catch (error) {
    throw new ImproperlyConfigured(`Cannot load the settings module ${file}: ${describeError(error)}`, {
      hint: 'The error comes from the settings or a module it imports (models, steps, ...); run again with --traceback for the stack',
      cause: error,
    });
  }
  const exported = module.default ?? module.settings;
  return resolveSettings(exported, file, { check: !options.checked });
}

/** The settings module's keys (the pipeline's own included), plus the resolved settings. */
export type SettingsView = Readonly<Record<string, unknown>> & { readonly resolved: ResolvedSettings };

// One frozen view per settings object, so reading settings in a per-row hot path allocates nothing.
const views = new WeakMap<ResolvedSettings, SettingsView>();

/**
 * What processors, commands and tests see as `this.settings`: every key of the
 * settings module (`this.settings.irisPath`) and the resolved values under `resolved`.
 * There is no process-wide "active settings": each run reads the settings of its
 * own environment through its context (processors/processor-context.ts).
 */
export function settingsView(settings: ResolvedSettings): SettingsView {
  let view = views.get(settings);
  if (!view) {
    view = Object.freeze({ ...settings.all, resolved: settings });
    views.set(settings, view);
  }
  return view;
}
