/** colourWanted: NO_COLOR wins, FORCE_COLOR decides when set, else a terminal that is not dumb. */
import { describe, expect, test } from 'vitest';
import { colourWanted, paint, settleColourEnv } from '../../src/core/colour.js';
import { renderTable } from '../../src/core/table.js';

const tty = { isTTY: true };
const pipe = { isTTY: false };

describe('colourWanted', () => {
  test.each([
    ['a terminal', tty, {}, true],
    ['a pipe', pipe, {}, false],
    ['a pipe on CI', pipe, { CI: '1' }, false],
    ['a dumb terminal', tty, { TERM: 'dumb' }, false],
    ['NO_COLOR on a terminal', tty, { NO_COLOR: '1' }, false],
    ['an empty NO_COLOR (unset, per no-color.org)', tty, { NO_COLOR: '' }, true],
    ['NO_COLOR beats FORCE_COLOR', tty, { NO_COLOR: '1', FORCE_COLOR: '1' }, false],
    ['FORCE_COLOR=1 on a pipe', pipe, { FORCE_COLOR: '1' }, true],
    ['FORCE_COLOR=0 on a terminal', tty, { FORCE_COLOR: '0' }, false],
    ['FORCE_COLOR=false on a terminal', tty, { FORCE_COLOR: 'false' }, false],
  ] as const)('%s', (_label, stream, env, expected) => {
    expect(colourWanted(stream, env)).toBe(expected);
  });
});

describe('settleColourEnv', () => {
  test('no colour: NO_COLOR set and FORCE_COLOR gone (colour libraries take FORCE_COLOR=0 as yes)', () => {
    const env: NodeJS.ProcessEnv = { FORCE_COLOR: '0' };
    settleColourEnv(false, env);
    expect(env).toEqual({ NO_COLOR: '1' });
  });

  test('colour: FORCE_COLOR=1 and NO_COLOR gone', () => {
    const env: NodeJS.ProcessEnv = { NO_COLOR: '' };
    settleColourEnv(true, env);
    expect(env).toEqual({ FORCE_COLOR: '1' });
  });
});

describe('paint', () => {
  test('on: each style wraps the text in its ANSI codes; off: the text unchanged', () => {
    expect(paint(true).red('FAILED')).toBe('\x1b[31mFAILED\x1b[39m');
    expect(paint(true).bold('Title')).toBe('\x1b[1mTitle\x1b[22m');
    expect(paint(false).red('FAILED')).toBe('FAILED');
    expect(paint(true).green('')).toBe('');
  });

  test('a table header keeps its width in columns when bold', () => {
    const plain = renderTable(['Step Class'], [['MyStep']]);
    const bold = renderTable(['Step Class'], [['MyStep']], paint(true));
    expect(bold.replaceAll('\x1b[1m', '').replaceAll('\x1b[22m', '')).toBe(plain);
    expect(bold).toContain('\x1b[1mStep Class\x1b[22m');
  });
});
