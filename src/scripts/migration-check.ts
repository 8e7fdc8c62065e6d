import { migrate, openOrm } from '../db/orm.js';
import { withScratchDatabase } from '../db/scratch.js';

/** Fails when the entities describe a schema the committed migrations do not produce. */
const needed = await withScratchDatabase(async (url) => {
  const orm = await openOrm(url);
  try {
    await migrate(orm);
    const diff = await orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false });
    return diff.trim();
  } finally {
    await orm.close();
  }
});
if (needed) {
  console.error('The migrations do not match the entities. Run `npm run migration:create`. Missing:\n');
  console.error(needed);
  process.exit(1);
}
console.log('migration:check: migrations match the entities');
