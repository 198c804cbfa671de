import { ValidationError } from '../core/errors.js';

const RESERVED = new Set(
  ('break case catch class const continue debugger default delete do else enum export extends false finally for function if ' +
    'import in instanceof new null return super switch this throw true try typeof var void while with yield let static ' +
    'implements interface package private protected public await arguments eval undefined NaN Infinity').split(' '),
);

/** Names that would clash with the files of the scaffold or with corral itself. */
const CLASHING = new Set(['corral', 'in_corral', 'settings', 'models', 'load', 'steps', 'alerts', 'commands', 'tests', 'test', 'pipeline', 'migrations', 'node_modules', 'dist', 'src']);

/** Checks a pipeline name; the name becomes a folder, a package and an identifier. */
export function validateName(name: string): void {
  if (!name) throw new ValidationError('A pipeline name is required', { hint: 'corral create mypipe' });
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new ValidationError(`'${name}' is not a valid pipeline name: use letters, digits and _, not starting with a digit`, {
      hint: `For example: ${name.replace(/[^A-Za-z0-9_]/g, '_').replace(/^(\d)/, '_$1') || 'mypipe'}`,
    });
  }
  if (RESERVED.has(name)) throw new ValidationError(`'${name}' is a reserved word in JavaScript`, { hint: `Try ${name}_pipeline` });
  if (CLASHING.has(name.toLowerCase())) {
    throw new ValidationError(`'${name}' clashes with a file of the pipeline scaffold or with corral itself`, { hint: `Try ${name}_pipeline` });
  }
}
