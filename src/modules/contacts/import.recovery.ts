import type { Agenda } from 'agenda';
import type { AppServices } from '../../context.js';
import { failStaleImports, touchImport } from './import.repository.js';

/**
 * How an import left RUNNING by a dead process is found: the process running an import moves
 * its heartbeat every `heartbeatMs`; an import whose heartbeat is older than `staleMs` is marked
 * FAILED by whichever process checks next (at start-up, then every `checkMs`). `staleMs` must
 * leave room for several missed heartbeats (a long GC pause, a busy database).
 */
export interface ImportTimings {
  heartbeatMs: number;
  staleMs: number;
  checkMs: number;
}

const timings: ImportTimings = { heartbeatMs: 5_000, staleMs: 60_000, checkMs: 30_000 };

export const importTimings = (): Readonly<ImportTimings> => timings;

/** Changes the timings of this process (tests; read when an import or the app starts). */
export function setImportTimings(t: Partial<ImportTimings>): void {
  Object.assign(timings, t);
  if (timings.staleMs < 3 * timings.heartbeatMs) throw new Error('staleMs must be at least 3 heartbeats');
}

export const RECOVER_IMPORTS_JOB = 'contacts:recover-imports';

/**
 * Moves the import's heartbeat until stopped. A failed beat is only logged: the next one may
 * succeed, and recovery waits for several.
 */
export function startHeartbeat(app: AppServices, accountId: string, importId: string): { stop(): void } {
  const timer = setInterval(() => {
    touchImport(app.orm.em.fork(), accountId, importId).catch((err) =>
      app.logger.warn(`import ${importId}: heartbeat failed: ${(err as Error).message}`),
    );
  }, timings.heartbeatMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** Marks stale imports FAILED and gives their progress subscribers the final state. */
export async function recoverImports(app: AppServices): Promise<number> {
  const failed = await failStaleImports(app.orm.em.fork(), timings.staleMs);
  for (const view of failed) {
    app.logger.warn(`import ${view.id} marked FAILED: ${view.error}`);
    app.pubsub.publish('importProgress', view.accountId, view);
  }
  return failed.length;
}

/**
 * Recovery runs once at start-up (this process may be the one that was killed), then as an
 * Agenda job shared by every process, so one of them checks every `checkMs`.
 */
export async function defineImportJobs(agenda: Agenda, app: AppServices): Promise<void> {
  agenda.define(RECOVER_IMPORTS_JOB, async () => {
    await recoverImports(app);
  });
  await recoverImports(app).catch((err) => app.logger.error('import recovery failed', err));
  await agenda.every(timings.checkMs, RECOVER_IMPORTS_JOB);
}
