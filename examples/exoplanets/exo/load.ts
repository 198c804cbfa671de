import fs from 'node:fs';
import path from 'node:path';
import { Loader as BaseLoader } from 'corral';
import { parse } from 'csv-parse';
import { Planet } from './models.js';

/** A number, or null for an empty or unreadable cell (missing values are common in this catalogue). */
export function floatOrNull(value: string | undefined): number | null {
  if (value === undefined || value.trim() === '') return null;
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
}

/**
 * Reads exoplanets.csv (the `exoPath` setting, relative to the pipeline folder)
 * and yields one Planet per row whose name the stream does not hold yet: load
 * again after adding planets to the file, and only the new ones are stored (and
 * then processed by the next `run`).
 */
export class Loader extends BaseLoader {
  private known = new Set<string>();

  /** The CSV file this loader reads. */
  get csvPath(): string {
    return path.resolve(this.settings.resolved.root, String(this.settings.exoPath ?? 'exoplanets.csv'));
  }

  override async setup(): Promise<void> {
    this.known = new Set((await this.db(Planet.table).whereNotNull('name').pluck('name')) as string[]);
  }

  async *generate() {
    let skipped = 0;
    // Read as a stream, one record at a time, keyed by the header line's names.
    const rows = fs.createReadStream(this.csvPath).pipe(parse({ columns: true, bom: true, skip_empty_lines: true }));
    for await (const row of rows as AsyncIterable<Record<string, string>>) {
      const name = row.NAME?.trim() || null;
      if (name !== null && this.known.has(name)) {
        skipped += 1;
        continue;
      }
      if (name !== null) this.known.add(name);
      yield new Planet({
        name,
        per: floatOrNull(row.PER),
        mass: floatOrNull(row.MASS),
        sep: floatOrNull(row.SEP),
        dist: floatOrNull(row.DIST),
        mstar: floatOrNull(row.MSTAR),
        rstar: floatOrNull(row.RSTAR),
        teff: floatOrNull(row.TEFF),
        fe: floatOrNull(row.FE),
      });
    }
    if (skipped > 0) this.logger.info(`${skipped} planets of the file are in the stream already`);
  }

  override teardown(): void {
    this.known.clear();
  }
}
