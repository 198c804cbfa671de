import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface CorralManifest {
  readonly version: string;
  readonly devDependencies?: Readonly<Record<string, string>>;
}

const manifest = require('../package.json') as CorralManifest;

/** The installed corral version, from its package.json. */
export const VERSION: string = manifest.version;

/**
 * The QA toolchain: what `test`, `coverage`, `style`, `typecheck`, `qareport`,
 * `profile` and `create-doc` import, and no runtime command does.
 */
export const QA_TOOLS = ['@eslint/js', '@types/node', 'c8', 'eslint', 'typescript', 'typescript-eslint', 'vitest'] as const;

/**
 * The QA toolchain at the versions corral's own devDependencies pin (the ones it is
 * tested with), e.g. `{ vitest: '4.1.12', … }`. A pipeline gets them as its own
 * devDependencies (the scaffold's package.json), so `npm ci --omit=dev` leaves them
 * out. They are deliberately not optional peerDependencies of corral: npm then marks
 * them `devOptional`, and `--omit=dev` installs them anyway. The scaffold and the hint
 * of a QA command run without them both come from here.
 */
export const QA_TOOLCHAIN: Readonly<Record<string, string>> = Object.fromEntries(
  QA_TOOLS.map((name) => [name, manifest.devDependencies?.[name] ?? 'latest']),
);
