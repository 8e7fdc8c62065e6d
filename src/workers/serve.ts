/**
 * The worker side of pool.ts: answers each call posted to this thread with the handler's result,
 * or with the message of what it threw (a message, not the error: classes do not cross threads).
 */
import { parentPort } from 'node:worker_threads';
import type { Reply } from './pool.js';

export function serve<P, R>(handler: (payload: P) => R | Promise<R>): void {
  const port = parentPort;
  if (!port) throw new Error('a worker entry runs in a worker thread');
  port.on('message', async ({ id, payload }: { id: number; payload: P }) => {
    let reply: Reply;
    try {
      reply = { id, ok: true, value: await handler(payload) };
    } catch (err) {
      reply = { id, ok: false, message: err instanceof Error ? err.message : String(err) };
    }
    try {
      port.postMessage(reply);
    } catch (err) {
      // A value that cannot be copied (DataCloneError): the call fails, not the whole worker.
      port.postMessage({ id, ok: false, message: err instanceof Error ? err.message : String(err) });
    }
  });
  // The entry and its imports are loaded: the pool may start the clock of a call.
  port.postMessage({ ready: true } satisfies Reply);
}
