import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The corral checkout (the folder holding package.json). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CORRAL_BIN = path.join(REPO_ROOT, 'bin', 'corral.js');
export const DIST_DIR = path.join(REPO_ROOT, 'dist');
