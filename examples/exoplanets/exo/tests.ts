/**
 * The EXO pipeline's tests: `node in_corral.js test` runs each TestCase on a
 * fresh, throw-away database. The first four are the original pipeline's.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestCase } from 'corral';
import { parse } from 'csv-parse/sync';
import { InHabitableZoneAlert } from './alerts.js';
import { HabitableCommand } from './commands.js';
import { Loader } from './load.js';
import { HabitableZoneStats, Planet } from './models.js';
import { logScatterSvg } from './plot.js';
import { HabitableZone } from './steps.js';

/** L / L_sun of a star of `rstar` solar radii at `teff` K, from the constants spelled out once more. */
function expectedLuminosity(rstar: number, teff: number): number {
  const sigma = 5.670374419e-8; // W m^-2 K^-4
  const sunLuminosity = 3.828e26; // W
  const sunRadius = 6.957e8; // m
  return (4 * Math.PI * (rstar * sunRadius) ** 2 * sigma * teff ** 4) / sunLuminosity;
}

type Row = Record<string, unknown>;

/** The HabitableZoneStats row of the planet named `name`, as stored. */
async function statsOf(test: TestCase, name: string): Promise<Row | undefined> {
  return (await test
    .db(HabitableZoneStats.table)
    .join(Planet.table, `${Planet.table}.id`, `${HabitableZoneStats.table}.planet_id`)
    .where(`${Planet.table}.name`, name)
    .first(`${HabitableZoneStats.table}.*`)) as Row | undefined;
}

// ---------------------------------------------------------------- loader

/** Every row of the CSV becomes a Planet; empty cells become NULL. */
export class LoaderTest extends TestCase {
  static override subject = Loader;

  async validate() {
    const csv = path.resolve(this.settings.resolved.root, String(this.settings.exoPath));
    const rows = (parse(fs.readFileSync(csv, 'utf8'), { columns: true, bom: true, skip_empty_lines: true }) as unknown[]).length;
    this.assertEqual(rows, 2950);
    await this.assertStreamCount(rows, Planet);
    // The first row: "Kepler-107 d,7.958203,0.00371234,0.0780099,,,1.411,5851,"
    await this.assertStreamHas(Planet, [{ name: 'Kepler-107 d', per: 7.958203, sep: 0.0780099, dist: null, mstar: null, rstar: 1.411, teff: 5851, fe: null }]);
  }
}

/** Loading again stores only the planets not in the stream yet (here all but one). */
export class LoaderIncrementalTest extends TestCase {
  static override subject = Loader;

  override async setup() {
    await this.save(new Planet({ name: 'Kepler-107 d', per: 1 }));
  }

  async validate() {
    await this.assertStreamCount(2950, Planet);
    await this.assertStreamCount(1, Planet, [{ name: 'Kepler-107 d' }]);
    await this.assertStreamHas(Planet, [{ name: 'Kepler-107 d', per: 1 }]);
  }
}

/** The CSV reader copes with quoted names (commas, quotes), CRLF line ends and unreadable numbers. */
export class LoaderQuotedCsvTest extends TestCase {
  static override subject = Loader;
  private dir = '';

  override setup() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exo-csv-'));
    const csv = path.join(this.dir, 'planets.csv');
    fs.writeFileSync(csv, 'NAME,PER,MASS,SEP,DIST,MSTAR,RSTAR,TEFF,FE\r\n"Foo, b",1.5,,0.1,,,1,5000,\r\n"Bar ""x"" c",n/a,2,,,,,,-0.1\r\n');
    this.patchSettings({ exoPath: csv });
  }

  async validate() {
    await this.assertStreamCount(2, Planet);
    await this.assertStreamHas(Planet, [{ name: 'Foo, b', per: 1.5, mass: null, sep: 0.1, rstar: 1, teff: 5000, fe: null }]);
    await this.assertStreamHas(Planet, [{ name: 'Bar "x" c', per: null, mass: 2, fe: -0.1 }]);
  }

  override teardown() {
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- HabitableZone

/** The paper's test: R = 1 R_sun, T = 1 K gives L = 4 pi R_sun^2 sigma / L_sun, far from any habitable zone. */
export class HabitableZoneTest extends TestCase {
  static override subject = HabitableZone;

  override async setup() {
    await this.save(new Planet({ name: 'foo', rstar: 1, teff: 1 }));
  }

  async validate() {
    const hz = await statsOf(this, 'foo');
    this.assertTrue(hz, 'no HabitableZoneStats for foo');
    const expected = expectedLuminosity(1, 1); // 9.0093545e-16
    this.assertAlmostEqual(hz!.luminosity as number, expected);
    // Seven decimal places cannot tell 1e-15 from 0: compare relatively too.
    this.assertAlmostEqual((hz!.luminosity as number) / expected, 1, 12);
    this.assertLess(hz!.radio_inner as number, hz!.radio_outer as number);
    await this.assertStreamHas(HabitableZoneStats, [{ in_habitable_zone: false }]);
    await this.assertStreamCount(1, HabitableZoneStats);
  }
}

/** A Sun twin has L = 1 L_sun; a planet at 1 AU lies in its zone (0.953-1.374 AU), Venus's and Mars's orbits do not. */
export class HabitableZoneSunTest extends TestCase {
  static override subject = HabitableZone;

  override async setup() {
    for (const [name, sep] of [['earth', 1.0], ['venus', 0.723], ['mars', 1.524], ['nosep', null]] as const) {
      await this.save(new Planet({ name, rstar: 1, teff: 5772, sep }));
    }
  }

  async validate() {
    const earth = await statsOf(this, 'earth');
    this.assertAlmostEqual(earth!.luminosity as number, 1, 5);
    this.assertAlmostEqual(earth!.radio_inner as number, Math.sqrt(expectedLuminosity(1, 5772) / 1.1));
    this.assertAlmostEqual(earth!.radio_outer as number, Math.sqrt(expectedLuminosity(1, 5772) / 0.53));
    await this.assertStreamCount(4, HabitableZoneStats);
    await this.assertStreamCount(1, HabitableZoneStats, [{ in_habitable_zone: true }]);
    await this.assertStreamHas(HabitableZoneStats, [{ planet_id: earth!.planet_id, in_habitable_zone: true }]);
  }
}

/** The paper's second test: without the star's radius and temperature there is nothing to compute. */
export class HabitableZoneNoRstarNoTeffTest extends TestCase {
  static override subject = HabitableZone;

  override async setup() {
    await this.save(new Planet({ name: 'foo' }));
    await this.save(new Planet({ name: 'radius only', rstar: 1 }));
    await this.save(new Planet({ name: 'temperature only', teff: 5000 }));
  }

  async validate() {
    await this.assertStreamCount(0, HabitableZoneStats);
  }
}

/** A planet that already has its statistics is not computed again (a second run adds nothing). */
export class HabitableZoneDoneTest extends TestCase {
  static override subject = HabitableZone;

  override async setup() {
    const planet = new Planet({ name: 'done', rstar: 1, teff: 5772, sep: 1 });
    await this.save(planet);
    await this.save(new HabitableZoneStats({ planet_id: planet.id, luminosity: 42, radio_inner: 1, radio_outer: 2, in_habitable_zone: false }));
  }

  async validate() {
    await this.assertStreamCount(1, HabitableZoneStats);
    await this.assertStreamHas(HabitableZoneStats, [{ luminosity: 42 }]);
  }
}

// ---------------------------------------------------------------- InHabitableZoneAlert

/** What the alert tests share: a temporary outputDir, removed at the end. */
abstract class AlertTest extends TestCase {
  static override subject = InHabitableZoneAlert;
  protected dir = '';

  protected get logText(): string {
    return fs.readFileSync(path.join(this.dir, 'in_habzone.log'), 'utf8');
  }

  protected get svgText(): string {
    return fs.readFileSync(path.join(this.dir, 'in_habzone.svg'), 'utf8');
  }

  protected assertValidPlot(svg: string, circles: number): void {
    this.assertTrue(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'), svg.slice(0, 80));
    this.assertTrue(svg.trimEnd().endsWith('</svg>'), svg.slice(-80));
    for (const text of ['Period vs Mass', 'Period [days]', 'Mass [M_Jup]']) this.assertTrue(svg.includes(text), `missing '${text}'`);
    this.assertEqual(svg.match(/<circle /g)?.length ?? 0, circles);
  }

  /** Saves a planet and its statistics. */
  protected async planet(values: Partial<Planet>, inZone: boolean): Promise<Planet> {
    const planet = new Planet({ rstar: 1, teff: 5772, ...values });
    await this.save(planet);
    await this.save(new HabitableZoneStats({ planet_id: planet.id, luminosity: 1, radio_inner: 0.95, radio_outer: 1.37, in_habitable_zone: inZone }));
    return planet;
  }

  override setup(): void | Promise<void> {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exo-alert-'));
    this.patchSettings({ outputDir: this.dir });
  }

  override teardown() {
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Each planet in the zone gets a log line with all its columns, and a point in the plot; the others nothing. */
export class InHabitableZoneAlertTest extends AlertTest {
  override async setup() {
    await super.setup();
    await this.planet({ name: 'Kepler-705 b', per: 56.0560538, mass: 0.0156727, sep: 0.231978, dist: 251.0, mstar: 0.53, rstar: 0.51, teff: 3722, fe: 0.07 }, true);
    await this.planet({ name: 'HD <&> b', per: 1178.4, mass: 2.2, sep: 1 }, true);
    await this.planet({ name: 'outside', per: 10, mass: 1, sep: 5 }, false);
  }

  async validate() {
    const lines = this.logText.trimEnd().split('\n');
    this.assertEqual(lines.length, 2);
    this.assertTrue(
      /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] id=\d+, name=Kepler-705 b, per=56\.0560538, mass=0\.0156727, sep=0\.231978, dist=251, mstar=0\.53, rstar=0\.51, teff=3722, fe=0\.07$/.test(lines[0]!),
      lines[0],
    );
    this.assertTrue(lines[1]!.includes('name=HD <&> b, per=1178.4, mass=2.2, sep=1, dist=null'), lines[1]);
    this.assertFalse(this.logText.includes('outside'));
    const svg = this.svgText;
    this.assertValidPlot(svg, 2);
    this.assertTrue(svg.includes('HD &lt;&amp;&gt; b'), 'the name is escaped in the SVG');
    await this.assertStreamCount(2, 'corral_alerted', [{ alert: 'InHabitableZoneAlert' }]);
  }
}

/** With nothing to announce, the log stays empty and the plot is empty but valid. */
export class InHabitableZoneAlertNothingTest extends AlertTest {
  override async setup() {
    await super.setup();
    await this.planet({ name: 'outside', per: 10, mass: 1, sep: 5 }, false);
  }

  async validate() {
    this.assertEqual(this.logText, '');
    this.assertValidPlot(this.svgText, 0);
  }
}

/** The plot keeps the points of earlier runs (as the log keeps its lines); a planet without a mass is not plotted. */
export class InHabitableZoneAlertAppendTest extends AlertTest {
  override async setup() {
    await super.setup();
    const earlier = logScatterSvg([{ x: 365.25, y: 0.00315, label: 'earlier' }], { title: 'Period vs Mass', xLabel: 'Period [days]', yLabel: 'Mass [M_Jup]' });
    fs.writeFileSync(path.join(this.dir, 'in_habzone.svg'), earlier);
    await this.planet({ name: 'new', per: 300, mass: 1, sep: 1 }, true);
    await this.planet({ name: 'massless', per: 300, sep: 1 }, true);
  }

  async validate() {
    this.assertEqual(this.logText.trimEnd().split('\n').length, 2);
    const svg = this.svgText;
    this.assertValidPlot(svg, 2);
    this.assertTrue(svg.includes('<title>earlier</title>'));
    this.assertFalse(svg.includes('massless'));
  }
}

// ---------------------------------------------------------------- command

export class HabitableCommandTest extends TestCase {
  static override subject = HabitableCommand;

  override async setup() {
    for (const [name, inZone] of [['b', true], ['a', true], ['c', false]] as const) {
      const planet = new Planet({ name, sep: 1 });
      await this.save(planet);
      await this.save(new HabitableZoneStats({ planet_id: planet.id, luminosity: 1, radio_inner: 0.95, radio_outer: 1.37, in_habitable_zone: inZone }));
    }
    this.cliArgs = ['--limit', '1'];
  }

  async validate() {
    const lines = this.commandStatus.stdout.trimEnd().split('\n');
    this.assertEqual(this.commandStatus.exitCode, 0);
    this.assertEqual(lines[0], 'Planets in the habitable zone: 2');
    this.assertEqual(lines.length, 3);
    this.assertEqual(lines[2]!.split(/\s+/), ['a', '1.000', '0.950', '1.370']);
  }
}
