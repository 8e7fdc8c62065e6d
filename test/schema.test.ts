import { readFileSync } from 'node:fs';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import codegenConfig from '../codegen.js';
import { printedSchema } from '../src/schema-print.js';

describe('committed artefacts', () => {
  it('schema/schema.graphql is the printed schema (run `npm run schema` after changing it)', () => {
    expect(readFileSync('schema/schema.graphql', 'utf8')).toBe(printedSchema());
  });

  it('test/generated/graphql.ts matches the operations and the schema (run `npm run schema`)', async () => {
    const outputs = await generate({ ...codegenConfig, silent: true }, false);
    const generated = outputs.find((o: { filename: string }) =>
      o.filename.endsWith('test/generated/graphql.ts'),
    );
    expect(generated).toBeDefined();
    expect(readFileSync('test/generated/graphql.ts', 'utf8')).toBe(generated!.content);
  });
});
