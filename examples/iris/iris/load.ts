import fs from 'node:fs';
import path from 'node:path';
import { Loader as BaseLoader } from 'corral';
import { parse } from 'csv-parse';
import { Flower, Name } from './models.js';

/** The CSV columns, in the order of the Flower measurements. */
const MEASUREMENTS = ['SepalLength', 'SepalWidth', 'PetalLength', 'PetalWidth'] as const;

/**
 * Reads the IRIS CSV (the `irisPath` setting, relative to the pipeline folder),
 * stores each species once as a Name and yields one Flower per row. The data
 * set is loaded once: flowers have no identity to tell a new row from one
 * loaded before, so when the stream already holds flowers (a second `run-all`)
 * the loader adds nothing.
 */
export class Loader extends BaseLoader {
  private alreadyLoaded = false;

  /** The CSV file this loader reads. */
  get csvPath(): string {
    return path.resolve(this.settings.resolved.root, String(this.settings.irisPath ?? 'iris.csv'));
  }

  override async setup(): Promise<void> {
    const loaded = await this.count(Flower);
    this.alreadyLoaded = loaded > 0;
    if (this.alreadyLoaded) this.logger.info(`The stream already holds ${loaded} flowers: nothing to load`);
  }

  /** The Name row of `species`, created (and saved, so it has an id) the first time. */
  async nameInstance(species: string): Promise<Name> {
    const found = await this.findOne(Name, [{ name: species }]);
    if (found) return found;
    const name = new Name({ name: species });
    await this.save(name);
    return name;
  }

  async *generate() {
    if (this.alreadyLoaded) return;
    // Read as a stream, one record at a time, keyed by the header line's names; `info` says where it ends in the file.
    const records = fs.createReadStream(this.csvPath).pipe(parse({ columns: true, bom: true, skip_empty_lines: true, info: true }));
    for await (const { record, info } of records as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      const cells = MEASUREMENTS.map((column) => (record[column] ?? '').trim());
      const values = cells.map(Number);
      const species = (record.Name ?? '').trim();
      if (!species || cells.some((cell, i) => cell === '' || !Number.isFinite(values[i]))) {
        throw new Error(`${this.csvPath}:${info.lines}: not a flower: ${JSON.stringify(record)}`);
      }
      const name = await this.nameInstance(species);
      const [sepal_l, sepal_w, petal_l, petal_w] = values as [number, number, number, number];
      yield new Flower({ name_id: name.id, sepal_l, sepal_w, petal_l, petal_w });
    }
  }
}
