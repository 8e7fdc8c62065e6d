/**
 * Test helper, run as its own process: computes the scores of one account and, after the first
 * score is written (inside the transaction), says PAUSED and waits forever, so the test can kill
 * the process for real (SIGKILL) half-way through a run.
 * Usage: node --import tsx run-child.ts <databaseUrl> <accountId>
 */
import pg from 'pg';
import { createLogger } from '../../../shared/logger.js';
import { startScoreRun } from '../score.runner.js';

const [url, accountId] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: url, max: 2 });
const { done } = await startScoreRun(
  { pool, pubsub: { publish: () => {} }, logger: createLogger('silent') },
  accountId,
  null,
  'MANUAL',
  {
    afterScore: async (i) => {
      if (i === 0) {
        process.stdout.write('PAUSED\n');
        await new Promise(() => {});
      }
    },
  },
);
await done;
process.stdout.write('DONE\n');
await pool.end();
