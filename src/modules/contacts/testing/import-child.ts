/**
 * Test helper, run as its own process: imports a CSV of `rows` contacts for the owner of `token`
 * with import id `importId`. After the first batch has committed it says PAUSED and holds the
 * rest of the file until a line arrives on stdin, so the test can kill it (SIGKILL) half-way, or
 * keep it alive while another process looks for dead imports.
 * Usage: node --import tsx import-child.ts <databaseUrl> <token> <importId> <rows> <heartbeatMs>
 */
import { createInterface } from 'node:readline';
import type { AppServices } from '../../../context.js';
import { openOrm } from '../../../db/orm.js';
import { createLogger } from '../../../shared/logger.js';
import { viewerFromToken } from '../../users/auth.service.js';
import { setImportTimings } from '../import.recovery.js';
import { IMPORT_BATCH, importContacts } from '../import.service.js';

const [url, token, importId, rowsArg, heartbeatMs] = process.argv.slice(2);
const rows = Number(rowsArg);
setImportTimings({ heartbeatMs: Number(heartbeatMs), staleMs: 3 * Number(heartbeatMs) });
const orm = await openOrm(url);
const viewer = await viewerFromToken(orm.em.fork(), token);
if (!viewer) throw new Error('bad token');

// Read stdin only until the first line: an open stdin would keep the process alive.
const go = new Promise<void>((resolve) => {
  const rl = createInterface({ input: process.stdin });
  rl.once('line', () => {
    rl.close();
    process.stdin.destroy();
    resolve();
  });
});
let paused = false;
const app = {
  orm,
  logger: createLogger('silent'),
  pubsub: {
    publish: (_topic: string, _key: string, view: { processed: number }) => {
      if (!paused && view.processed >= IMPORT_BATCH) {
        paused = true;
        process.stdout.write('PAUSED\n');
      }
    },
  },
} as unknown as AppServices;

const enc = new TextEncoder();
let sent = 0;
const file = {
  stream: () =>
    new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === 0) controller.enqueue(enc.encode('email\n'));
        // Enough for the first batch to commit; the rest waits for the test.
        if (sent === IMPORT_BATCH + 500) await go;
        if (sent >= rows) return controller.close();
        const chunk: string[] = [];
        for (let i = 0; i < 500 && sent < rows; i++)
          chunk.push(`${importId.slice(0, 8)}-${sent++}@child.test`);
        controller.enqueue(enc.encode(`${chunk.join('\n')}\n`));
      },
    }),
} as unknown as Blob;

const imp = await importContacts({ app, em: orm.em.fork(), viewer, ip: null }, { id: importId, file });
process.stdout.write(`${imp.status}\n`);
await orm.close();
