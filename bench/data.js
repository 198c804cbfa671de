/**
 * The benchmark's data and its one computation, shared by the pipeline fixture
 * (its Loader and Step import this file) and by the raw loops, so both sides
 * insert the very same rows and compute the very same values.
 */

/** About 1 % of the rows are brighter than this (app_mag is uniform in [10, 25)). */
export const BRIGHT_MAG = 10.15;

/** Rows per transaction on both sides: corral's chunkSize and the raw loops' batch. */
export const CHUNK = 1000;

/**
 * Mulberry32: a tiny deterministic PRNG, so every run (and both sides of a
 * comparison) sees the same coordinates and magnitudes.
 */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The n point sources, as plain objects without id (the database numbers them 1..n). */
export function* pointSources(n, seed = 42) {
  const random = mulberry32(seed);
  for (let i = 0; i < n; i++) {
    yield { x: random() * 4096, y: random() * 4096, ra: null, dec: null, app_mag: 10 + random() * 15 };
  }
}

/** The step's work: sky coordinates from pixel coordinates (a linear plate solution). */
export function raDecOf(x, y) {
  return [150 + x * 7.5e-5, 2 + y * 7.5e-5];
}

/** The alert's line for a bright source, for the File endpoint and the raw loop alike. */
export function alertLine(now, row) {
  return `[${now.toISOString()}] bright source id=${row.id} mag=${row.app_mag}\n`;
}
