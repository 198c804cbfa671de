import { Step, type Condition } from 'corral';
import { HabitableZoneStats, Planet } from './models.js';

/** Stefan-Boltzmann constant [W m^-2 K^-4] (CODATA 2018). */
export const STEFAN_BOLTZMANN = 5.670374419e-8;
/** Nominal solar luminosity [W] (IAU 2015 B3). */
export const SUN_LUMINOSITY = 3.828e26;
/** Nominal solar radius [m] (IAU 2015 B3). */
export const SUN_RADIUS = 6.957e8;

/** The luminosity [L_sun] of a star of radius `rstar` [R_sun] and effective temperature `teff` [K]: L = 4 pi R^2 sigma T^4. */
export function luminosity(rstar: number, teff: number): number {
  const radius = rstar * SUN_RADIUS;
  return (4 * Math.PI * radius ** 2 * STEFAN_BOLTZMANN * teff ** 4) / SUN_LUMINOSITY;
}

/** The inner and outer edges [AU] of the habitable zone of a star of luminosity `lratio` [L_sun]. */
export function habitableZone(lratio: number): { inner: number; outer: number } {
  return { inner: Math.sqrt(lratio / 1.1), outer: Math.sqrt(lratio / 0.53) };
}

/**
 * Works out the luminosity of each planet's star and the edges of its habitable
 * zone, and whether the planet orbits within. Planets whose star lacks a radius
 * or a temperature are skipped, and so are those already done, so running it
 * again adds nothing.
 */
export class HabitableZone extends Step<Planet> {
  static override model = Planet;
  static override conditions: readonly Condition[] = [
    ['rstar', 'is not', null],
    ['teff', 'is not', null],
    (q) =>
      q.whereNotExists(function () {
        this.select(1).from(HabitableZoneStats.table).whereRaw('?? = ??', [`${HabitableZoneStats.table}.planet_id`, `${Planet.table}.id`]);
      }),
  ];

  process(planet: Planet) {
    const lratio = luminosity(planet.rstar!, planet.teff!);
    const { inner, outer } = habitableZone(lratio);
    return new HabitableZoneStats({
      planet_id: planet.id,
      luminosity: lratio,
      radio_inner: inner,
      radio_outer: outer,
      in_habitable_zone: planet.sep !== null && inner <= planet.sep && planet.sep <= outer,
    });
  }
}
