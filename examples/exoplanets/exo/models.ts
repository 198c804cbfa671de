/**
 * The tables of the EXO stream (appendix A.4 of the corral paper): the planets
 * of the catalogue, and what the HabitableZone step works out for each.
 */
import { boolean, float, integer, model, string } from 'corral';

/**
 * A planet of the Exoplanet Orbit Database (exoplanets.org), with its host
 * star. Any measurement may be missing (NULL).
 */
export class Planet extends model('Planet', {
  id: integer().primaryKey(),
  name: string().describe('Name of the planet'),
  per: float().describe('Orbital period [days]'),
  mass: float().describe('Planet mass [M_Jup]'),
  sep: float().describe('Star-planet separation (semi-major axis) [AU]'),
  dist: float().describe('Distance to the star [pc]'),
  mstar: float().describe('Mass of the star [M_sun]'),
  rstar: float().describe('Radius of the star [R_sun]'),
  teff: float().describe('Effective temperature of the star [K]'),
  fe: float().describe('Metallicity of the star [Fe/H]'),
}) {
  override toString(): string {
    return `<Planet '${this.name ?? `id=${this.id}`}'>`;
  }
}

/** The luminosity of a planet's star, the edges of its habitable zone, and whether the planet lies within. */
export class HabitableZoneStats extends model('HabitableZoneStats', {
  id: integer().primaryKey(),
  planet_id: integer().notNull().unique().references('Planet'),
  luminosity: float().describe('Luminosity of the star [L_sun]'),
  radio_inner: float().describe('Inner edge of the habitable zone [AU]'),
  radio_outer: float().describe('Outer edge of the habitable zone [AU]'),
  in_habitable_zone: boolean().describe('radio_inner <= sep <= radio_outer'),
}) {}
