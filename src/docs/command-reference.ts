import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CORRAL_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Where a manual written in `fromDir` finds the reference of the built-in commands:
 * corral's published README (its `homepage`) when the package names one, else the
 * README of the installed corral, relative to the manual (it works in an editor, and
 * in a checkout's examples on GitHub).
 */
export function commandReferenceLink(fromDir: string): string {
  let homepage: unknown;
  try {
    homepage = (JSON.parse(fs.readFileSync(path.join(CORRAL_ROOT, 'package.json'), 'utf8')) as { homepage?: unknown }).homepage;
  } catch {
    homepage = undefined;
  }
  if (typeof homepage === 'string' && /^https?:\/\//.test(homepage)) return `${homepage.replace(/#.*$/, '')}#cli-reference`;
  return `${path.relative(fromDir, path.join(CORRAL_ROOT, 'README.md')).split(path.sep).join('/')}#cli-reference`;
}
