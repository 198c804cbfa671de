import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface CorralManifest {
  readonly version: string;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
}

const manifest = require('../package.json') as CorralManifest;

/** The installed corral version, from its package.json. */
export const VERSION: string = manifest.version;

/**
 * The QA toolchain with its tested versions, e.g. `{ vitest: '4.1.12', … }`: the
 * packages are corral's optional `peerDependencies` (a pipeline installs them as its
 * devDependencies, so that `npm ci --omit=dev` leaves them out), the versions are
 * corral's own `devDependencies` pins. The scaffold's package.json and the hint of a
 * QA command run without them both come from here.
 */
export const QA_TOOLCHAIN: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(manifest.peerDependencies ?? {}).map(([name, range]) => [name, manifest.devDependencies?.[name] ?? range]),
);
