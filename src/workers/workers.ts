/**
 * The process's worker pools, one per kind of CPU-bound call, each started on first use with the
 * settings of config.ts (WORKER_THREADS, WORKER_QUEUE_SIZE, CPU_CALL_TIMEOUT_MS). One set per
 * process: threads are a per-machine resource, and several apps in one process (tests) share them.
 */
import { loadWorkerSettings, type WorkerSettings } from '../config.js';
import { entryBeside, WorkerPool } from './pool.js';

export type TaskKind = 'classify' | 'csv';

const ENTRIES: Record<TaskKind, string> = { classify: 'classify.worker', csv: 'csv.worker' };

const pools = new Map<string, WorkerPool>();
let fromEnv: WorkerSettings | null = null;

/**
 * The pool for `kind` under these settings (by default, the environment's). Settings that differ
 * (a test app with a short time limit) get pools of their own.
 */
export function poolFor(kind: TaskKind, settings?: WorkerSettings): WorkerPool {
  if (!settings) fromEnv ??= loadWorkerSettings(process.env);
  const s = settings ?? (fromEnv as WorkerSettings);
  const key = `${kind}:${s.workerThreads}:${s.workerQueueSize}:${s.cpuCallTimeoutMs}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = new WorkerPool(entryBeside(import.meta.url, ENTRIES[kind]), {
      threads: s.workerThreads,
      maxQueue: s.workerQueueSize,
      timeoutMs: s.cpuCallTimeoutMs,
    });
    pools.set(key, pool);
  }
  return pool;
}

/**
 * Terminates every worker of the process; main.ts's shutdown calls it. A later call starts new
 * pools, so another app still running in the same process keeps working.
 */
export async function close(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.close()));
}
