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
