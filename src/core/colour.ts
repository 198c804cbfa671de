/**
 * Whether output to a stream may carry ANSI colours: never when NO_COLOR is set
 * (https://no-color.org), as FORCE_COLOR says when it is set (`0`/`false`: no),
 * else only on a terminal that is not `dumb`. A pipe or a CI log gets plain text.
 */
export function colourWanted(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !['0', 'false'].includes(force.toLowerCase());
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

/**
 * Settles the decision in the environment, where the colour libraries of tools run
 * in this process or its children (vitest's tinyrainbow, picocolors) read it. Those
 * colour a pipe unless NO_COLOR is present, and take any FORCE_COLOR, even `0`, as yes.
 */
export function settleColourEnv(colour: boolean, env: NodeJS.ProcessEnv = process.env): void {
  if (colour) {
    delete env.NO_COLOR;
    env.FORCE_COLOR = '1';
  } else {
    delete env.FORCE_COLOR;
    env.NO_COLOR = '1';
  }
}

/** ANSI styles that are the identity when colour is off: callers write one code path. */
export interface Paint {
  readonly enabled: boolean;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  bold(text: string): string;
  dim(text: string): string;
}

const style = (enabled: boolean, open: number, close: number) => (text: string) => (enabled && text ? `\x1b[${open}m${text}\x1b[${close}m` : text);

/** The styles for one stream: `paint(colourWanted(process.stderr)).red('FAILED')`. */
export function paint(enabled: boolean): Paint {
  return {
    enabled,
    red: style(enabled, 31, 39),
    green: style(enabled, 32, 39),
    yellow: style(enabled, 33, 39),
    bold: style(enabled, 1, 22),
    dim: style(enabled, 2, 22),
  };
}
