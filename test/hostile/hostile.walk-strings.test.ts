import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSchema } from '../../src/schema.js';
import { type Fixtures, setUp } from './fixtures.js';
import { hostileCases } from './generator.js';
import { walkClasses } from './walk.js';

/**
 * Issue 10, 9: the string classes of the walk (NUL, lone surrogates, 1 MiB, control characters,
 * SQL metacharacters, case-expanding text, and their literal forms) on every String leaf of every
 * query and mutation. Apart from hostile.walk.test.ts so the two halves run side by side.
 */
const cases = hostileCases(buildSchema()).filter((c) => c.kind !== 'subscription');

let fx: Fixtures;
beforeAll(async () => {
  // Loopback as a trusted proxy: signUp cases each come from an address of their own (attack.ts).
  fx = await setUp({ TRUST_PROXY: 'loopback' });
});
afterAll(() => fx?.t.close());

describe('hostile strings on every query and mutation', () => {
  it('has a string case for every String leaf', () => {
    expect(cases.filter((c) => c.cls === 'string.nul').length).toBeGreaterThan(70);
  });

  walkClasses(
    () => fx,
    cases,
    (cls) => cls.startsWith('string.'),
  );
});
