/**
 * The tables of the IRIS stream, with the paper's table and column names: the
 * species (`Name`), one row per measured flower (`Flower`) and the mean
 * measurements of each species (`Statistics`).
 */
import { float, integer, model, string } from 'corral';

/** A species of iris: Iris-setosa, Iris-versicolor or Iris-virginica. */
export class Name extends model('Name', {
  id: integer().primaryKey(),
  name: string(50).notNull().unique().describe('The species, as the CSV spells it'),
}) {
  override toString(): string {
    return `<Name '${this.name}'>`;
  }
}

/** One flower of the data set: its species and four measurements in centimetres. */
export class Flower extends model('Flower', {
  id: integer().primaryKey(),
  name_id: integer().notNull().references('Name'),
  sepal_l: float().notNull().describe('Sepal length [cm]'),
  sepal_w: float().notNull().describe('Sepal width [cm]'),
  petal_l: float().notNull().describe('Petal length [cm]'),
  petal_w: float().notNull().describe('Petal width [cm]'),
}) {}

/**
 * The mean measurements of one species. StatisticsCreator adds it with every mean
 * at 0; the species step of its Name fills them in.
 */
export class Statistics extends model('Statistics', {
  id: integer().primaryKey(),
  name_id: integer().notNull().unique().references('Name'),
  mean_sepal_l: float().notNull().describe('Mean sepal length [cm]; 0 until computed'),
  mean_sepal_w: float().notNull().describe('Mean sepal width [cm]'),
  mean_petal_l: float().notNull().describe('Mean petal length [cm]'),
  mean_petal_w: float().notNull().describe('Mean petal width [cm]'),
}) {
  override toString(): string {
    return `<Statistics of name_id=${this.name_id}>`;
  }
}
