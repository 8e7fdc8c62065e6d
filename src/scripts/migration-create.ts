import { migrate, openOrm } from '../db/orm.js';
import { withScratchDatabase } from '../db/scratch.js';

/** Writes a migration for whatever the entities changed since the last one. */
await withScratchDatabase(async (url) => {
  const orm = await openOrm(url);
  try {
    await migrate(orm);
    const result = await orm.getMigrator().createMigration('migrations', false, false, process.argv[2]);
    if (!result.fileName) console.log('No changes: no migration written.');
    else console.log(`Wrote migrations/${result.fileName}: add it to src/db/migrations-list.ts`);
  } finally {
    await orm.close();
  }
});
