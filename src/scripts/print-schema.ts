import { writeFileSync } from 'node:fs';
import { printedSchema } from '../schema-print.js';

/** `npm run schema`: rewrites the committed SDL (a test fails when it drifts). */
writeFileSync('schema/schema.graphql', printedSchema());
console.log('wrote schema/schema.graphql');
