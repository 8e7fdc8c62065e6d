import { Repeater } from 'graphql-yoga';
import type { AuthedContext } from '../../context.js';
import { badInput } from '../../shared/errors.js';
import { isUuid } from '../../shared/ids.js';
import { findImport, type ImportView } from './import.repository.js';

/**
 * The progress of one import of the viewer's account: its current state first when it exists
 * (so a late subscriber is not left waiting), then each update; ends once it is DONE or FAILED.
 * The id may be one the client chose and passes to importContacts afterwards, so an import that
 * does not exist yet is waited for. The topic is keyed by account: another account's import
 * with the same id can never be seen. A Repeater rather than an async generator: a generator
 * waiting for the next event cannot be ended by the client, and would hold its subscription
 * until another import of the account published something.
 */
export function importProgress(ctx: AuthedContext, importId: string): AsyncIterable<ImportView> {
  if (!isUuid(importId)) throw badInput('importId must be a UUID', { field: 'importId' });
  return new Repeater<ImportView>(async (push, stop) => {
    const events = ctx.app.pubsub.subscribe('importProgress', ctx.viewer.accountId);
    const stopped = stop.then(() => ({ done: true, value: undefined }) as const);
    // The subscription starts listening on its first pull: start it before reading the current
    // state, so no update falls between the two.
    let next = events.next();
    try {
      const current = await findImport(ctx.em, ctx.viewer.accountId, importId);
      let seen = -1;
      if (current) {
        await push(current);
        if (current.status !== 'RUNNING') return;
        seen = current.processed;
      }
      for (;;) {
        const { value, done } = await Promise.race([next, stopped]);
        if (done) return;
        next = events.next();
        if (value.id !== importId) continue;
        // Updates older than the state already sent are skipped; the final one never is.
        if (value.status === 'RUNNING' && value.processed <= seen) continue;
        seen = value.processed;
        await push(value);
        if (value.status !== 'RUNNING') return;
      }
    } finally {
      stop();
      await events.return?.();
    }
  });
}
