import fs from 'node:fs';
import path from 'node:path';
import { Alert, Endpoint, File, type ModelInstance } from 'corral';
import { HabitableZoneStats, Planet } from './models.js';
import { logScatterSvg, pointsInSvg, type ScatterPoint } from './plot.js';

/**
 * Where a running alert writes `relativePath`: under the `outputDir` setting
 * (itself relative to where corral puts outputs: the pipeline folder, or a
 * test's temporary folder), so a test or the demo can send the output elsewhere.
 */
export function outputPath(alert: Alert, relativePath: string): string {
  const settings = alert.settings;
  return path.resolve(settings.resolved.outputRoot, String(settings.outputDir ?? '.'), relativePath);
}

/** The Planet columns a plot can use. */
export type PlanetField = 'per' | 'mass' | 'sep' | 'dist' | 'mstar' | 'rstar' | 'teff' | 'fe';

export interface LogScatterOptions {
  readonly xField: PlanetField;
  readonly yField: PlanetField;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /**
   * `'a'` adds this run's points to those already in the file, as File appends
   * lines; `'w'` plots this run's points only. (Default: `'a'`)
   */
  readonly mode?: 'a' | 'w';
}

/**
 * A custom endpoint: collects (x, y) of the planet of each alerted
 * HabitableZoneStats row and, when the alert ends, writes a log-log scatter plot
 * of them as an SVG file (relative to `outputDir`), with the points of earlier
 * runs kept (mode 'a'). With no points at all, it is an empty plot.
 */
export class LogScatter extends Endpoint {
  readonly path: string;
  readonly options: LogScatterOptions;
  private points: ScatterPoint[] = [];
  private target: string | undefined;

  constructor(filePath: string, options: LogScatterOptions) {
    super();
    this.path = filePath;
    this.options = options;
  }

  override setup(alert: Alert): void {
    super.setup(alert);
    // Endpoints are shared by every run in a process (they live in alertTo): start afresh.
    this.points = [];
    this.target = outputPath(alert, this.path);
  }

  async process(row: ModelInstance): Promise<void> {
    const planet = await (row as HabitableZoneStats).related(Planet);
    const x = planet?.[this.options.xField];
    const y = planet?.[this.options.yField];
    // A log axis has no place for missing, zero or negative values.
    if (typeof x === 'number' && typeof y === 'number' && x > 0 && y > 0) {
      this.points.push({ x, y, label: `${planet?.name ?? 'unnamed'} (${this.options.xField}=${x}, ${this.options.yField}=${y})` });
    }
  }

  override teardown(error?: unknown): void {
    // Written even when the alert failed: the chunks committed before the failure
    // will not be alerted again, so their points must not be lost. The rows of the
    // failed chunk come again next run, and merging drops the repeated points.
    const target = this.target;
    try {
      if (target) {
        const earlier = (this.options.mode ?? 'a') === 'a' && fs.existsSync(target) ? pointsInSvg(fs.readFileSync(target, 'utf8')) : [];
        const unique = new Map([...earlier, ...this.points].map((p) => [`${p.x} ${p.y} ${p.label ?? ''}`, p]));
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, logScatterSvg([...unique.values()], this.options));
      }
    } finally {
      this.points = [];
      this.target = undefined;
      super.teardown(error);
    }
  }
}

/**
 * Announces each planet found in the habitable zone of its star: a line with
 * every column of the planet in in_habzone.log, and a point in the period-mass
 * plot in_habzone.svg.
 */
export class InHabitableZoneAlert extends Alert<HabitableZoneStats> {
  static override model = HabitableZoneStats;
  static override conditions = [{ in_habitable_zone: true }];
  static override alertTo = [
    new File((settings) => path.join(String(settings.outputDir ?? '.'), 'in_habzone.log')),
    new LogScatter('in_habzone.svg', { xField: 'per', yField: 'mass', title: 'Period vs Mass', xLabel: 'Period [days]', yLabel: 'Mass [M_Jup]' }),
  ];

  /** `[<ISO time>] id=.., name=.., per=.., ...`: every column of the planet. */
  override async renderAlert(now: Date, _endpoint: Endpoint, hz: HabitableZoneStats): Promise<string> {
    const planet = await hz.related(Planet);
    if (!planet) return `[${now.toISOString()}] planet_id=${hz.planet_id} (planet not found)\n`;
    const values = planet.toJSON();
    const fields = Object.keys(Planet.columns).map((column) => `${column}=${String(values[column])}`);
    return `[${now.toISOString()}] ${fields.join(', ')}\n`;
  }
}
