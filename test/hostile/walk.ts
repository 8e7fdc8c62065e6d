import { expect, it } from 'vitest';
import { attack, inParallel } from './attack.js';
import type { Fixtures } from './fixtures.js';
import type { HostileCase } from './generator.js';

/**
 * One test per hostile class (those `chosen` keeps), each listing every field it still breaks.
 * Reads run four at a time; then writes one by one, so each fingerprint sees only its own call.
 */
export function walkClasses(
  fx: () => Fixtures,
  cases: HostileCase[],
  chosen: (cls: string) => boolean,
): void {
  const classes = [...new Set(cases.map((c) => c.cls))].filter(chosen).sort();
  for (const cls of classes)
    it(`${cls}: typed errors or data, no 5xx, no write on error, nothing of account B`, async () => {
      const mine = cases.filter((x) => x.cls === cls);
      const reads = mine.filter((c) => c.kind === 'query');
      const failures = (await inParallel(reads, 4, (c) => attack(fx(), c))).flat();
      for (const c of mine.filter((x) => x.kind === 'mutation')) failures.push(...(await attack(fx(), c)));
      expect(failures).toEqual([]);
    }, 240_000);
}
