import type { AuthedContext, Context } from '../../context.js';
import { liveRule } from '../../realtime/live.js';
import { pollStream } from '../../realtime/poll.js';
import { forbidden } from '../../shared/errors.js';
import type { OperationKind } from './operation.entity.js';
import type { OperationView } from './operation.repository.js';
import { featureOf, mayDo } from './operation.rights.js';
import { readOperation } from './operation.service.js';

/** How often a stream looks for changes: at most one message per second per subscription. */
export const STATS_POLL_MS = 1_000;

// The kind each stream's operation has, found by subscribe, read by the live re-check.
const kinds = new WeakMap<Context, OperationKind>();

/**
 * The stream of one operation's figures (operationStatsUpdated, operationProgress): the operation
 * is read as the viewer may (NOT_FOUND for another account's, FORBIDDEN without GUEST in its
 * kind), then `read` is sent now and whenever `version` moves, polled every STATS_POLL_MS
 * (src/realtime/poll.ts says why polling). Pair it with `operationStreamRule`.
 */
export async function pollOperation<T>(
  ctx: AuthedContext,
  id: string,
  version: (op: OperationView) => Promise<string>,
  read: (op: OperationView) => Promise<T>,
) {
  const op = await readOperation(ctx, id);
  kinds.set(ctx, op.kind);
  return pollStream(
    () => version(op),
    () => read(op),
    STATS_POLL_MS,
  );
}

/** The live re-check of such a stream: it ends FORBIDDEN once the viewer loses GUEST in the kind. */
export function operationStreamRule(what: string): Record<string, unknown> {
  return liveRule<unknown, null>({
    start: () => null,
    allowed: (ctx) => {
      const kind = kinds.get(ctx);
      if (!kind || mayDo(ctx.viewer, kind, 'GUEST')) return null;
      return forbidden(`Reading the ${what} of an ${kind} operation needs ${featureOf(kind)} >= GUEST`);
    },
  });
}
