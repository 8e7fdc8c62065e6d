/** The demo owner of a first start, seeded once even when several processes start together. */
import { describe, expect, it } from 'vitest';
import { migrate, openOrm } from '../src/db/orm.js';
import { seedDemoOwner } from '../src/db/seed.js';
import { createTestDatabase } from './harness.js';

describe('seedDemoOwner', () => {
  it('seeds one account when four processes start at once on an empty database', async () => {
    const db = await createTestDatabase();
    const orms = await Promise.all(Array.from({ length: 4 }, () => openOrm(db.url)));
    try {
      await migrate(orms[0]);
      const results = await Promise.all(orms.map((orm) => seedDemoOwner(orm)));
      expect(results.filter((r) => r !== null)).toHaveLength(1);
      const n = await orms[0].em.fork().getConnection().execute('select count(*)::int as n from account');
      expect(n[0].n).toBe(1);
      // A later start seeds nothing.
      expect(await seedDemoOwner(orms[1])).toBeNull();
    } finally {
      await Promise.all(orms.map((o) => o.close()));
      await db.drop();
    }
  }, 60_000);
});
