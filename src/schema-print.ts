import { lexicographicSortSchema, printSchema } from 'graphql';
import { buildSchema } from './schema.js';

/** The SDL as committed in schema/schema.graphql: sorted, so diffs show real changes only. */
export const printedSchema = () => `${printSchema(lexicographicSortSchema(buildSchema()))}\n`;
