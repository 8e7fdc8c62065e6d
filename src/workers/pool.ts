/**
 * A bounded pool of worker threads for CPU-bound calls (bounce classification, CSV parsing), so
 * the event loop keeps answering while they run. Hand-written on node:worker_threads rather than
 * piscina: the time limit must count from the moment a worker starts the call (piscina's abort
 * signal also counts the time spent queued, so a cheap call waiting behind costly ones would be
 * killed and blamed), and a worker that overruns is terminated and replaced at once.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AppError } from '../shared/errors.js';

export interface PoolOptions {
  /** Most workers alive at once; they start on demand. */
  threads: number;
  /** Longest a call may run in its worker before the worker is terminated. */
  timeoutMs: number;
  /** Most calls waiting for a free worker; one more is refused with RATE_LIMITED. */
  maxQueue: number;
  /** A worker's heap limit in MB; HEAP_MB by default. */
  heapMb?: number;
}

/** The call ran past the time limit; its worker was terminated and is being replaced. */
export class CallTimedOut extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the call ran for more than ${timeoutMs} ms`);
  }
}

/** The worker died during the call (out of memory, a crash in native code). */
export class WorkerDied extends Error {
  /** It reached HEAP_MB: the call's input, most likely, not a fault of the server. */
  get outOfMemory(): boolean {
    return (this.cause as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
  }
}

/**
 * A worker's heap limit. Its inputs are bounded (a bounce is read up to 256 K characters, a CSV
 * call is 256 KB and one unfinished record), so this is far above need; it keeps a hostile input
 * from growing one worker to the process's limit, where it would take the whole server down.
 */
const HEAP_MB = 512;

/** What a worker entry posts back for a call (see serve.ts). */
export type Reply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; message: string }
  | { ready: true };

interface Call {
  id: number;
  payload: unknown;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  /** The entry has loaded (see serve.ts): a call's time starts only then, not during start-up. */
  ready: boolean;
  call: Call | null;
  timer: NodeJS.Timeout | null;
}

/**
 * A worker entry written in TypeScript (vitest, `npm start`) needs tsx in its thread, and
 * `execArgv: ['--import', 'tsx']` is not enough on Node 20 (the entry is resolved before the
 * hooks apply: ERR_UNKNOWN_FILE_EXTENSION), so a two-line bootstrap registers tsx, then imports
 * the entry. Compiled (`node dist/main.js`) the entry is JavaScript and is started as it is. tsx
 * is resolved from here, not from the working directory, which may be anywhere.
 */
function workerFor(entry: URL, heapMb: number): Worker {
  const resourceLimits = { maxOldGenerationSizeMb: heapMb };
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { resourceLimits });
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx'));
  const api = new URL('./esm/api/index.mjs', tsx).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(boot, { eval: true, resourceLimits });
}

/** The entry `name` (without extension) beside the calling module, in the same language. */
export function entryBeside(moduleUrl: string, name: string): URL {
  const ext = new URL(moduleUrl).pathname.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${ext}`, moduleUrl);
}

export class WorkerPool {
  private slots: Slot[] = [];
  private queue: Call[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private entry: URL,
    private opts: PoolOptions,
  ) {}

  /** Runs one call in a worker. Throws RATE_LIMITED at once when the queue is full. */
  run<T>(payload: unknown): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the worker pool is closed'));
    const idle = this.slots.find((s) => s.call === null);
    if (!idle && this.slots.length >= this.opts.threads && this.queue.length >= this.opts.maxQueue) {
      return Promise.reject(
        new AppError('RATE_LIMITED', 'The server is busy with costly calls; try again in a few seconds'),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const call: Call = { id: this.nextId++, payload, resolve: resolve as (v: unknown) => void, reject };
      const slot = idle ?? (this.slots.length < this.opts.threads ? this.spawn() : null);
      if (slot) this.dispatch(slot, call);
      else this.queue.push(call);
    });
  }

  /** Workers alive now (for tests and metrics). */
  get size(): number {
    return this.slots.length;
  }

  /** Terminates every worker; calls still waiting or running fail. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const queued = this.queue.splice(0);
    for (const c of queued) c.reject(new Error('the worker pool is closed'));
    const slots = this.slots.splice(0);
    await Promise.all(
      slots.map((s) => {
        if (s.timer) clearTimeout(s.timer);
        s.call?.reject(new Error('the worker pool is closed'));
        s.call = null;
        return s.worker.terminate();
      }),
    );
  }

  private spawn(): Slot {
    const worker = workerFor(this.entry, this.opts.heapMb ?? HEAP_MB);
    const slot: Slot = { worker, ready: false, call: null, timer: null };
    // An idle worker must not keep the process alive; a busy one holds it (see dispatch).
    worker.unref();
    worker.on('message', (reply: Reply) => {
      if ('ready' in reply) {
        slot.ready = true;
        if (slot.call) this.start(slot);
        return;
      }
      const call = slot.call;
      if (!call || reply.id !== call.id) return;
      this.settle(slot);
      if (reply.ok) call.resolve(reply.value);
      else call.reject(new Error(reply.message));
      this.next(slot);
    });
    // 'error' (an uncaught exception in the worker, an entry that fails to load) precedes 'exit';
    // the call fails with it as the cause, which yoga logs and masks.
    let cause: unknown;
    worker.on('error', (err) => {
      cause = err;
    });
    worker.on('exit', () => {
      // Already removed and replaced by overrun(): nothing more to do, no second replacement.
      if (!this.slots.includes(slot)) return;
      const call = slot.call;
      this.settle(slot);
      this.remove(slot);
      call?.reject(new WorkerDied('the worker thread stopped during the call', { cause }));
      // An entry that never loaded would fail again at once: no eager respawn loop, only for
      // calls already waiting.
      if (slot.ready || this.queue.length > 0) this.refill();
    });
    this.slots.push(slot);
    return slot;
  }

  private dispatch(slot: Slot, call: Call): void {
    slot.call = call;
    slot.worker.ref();
    if (slot.ready) this.start(slot);
  }

  private start(slot: Slot): void {
    const call = slot.call as Call;
    slot.timer = setTimeout(() => this.overrun(slot), this.opts.timeoutMs);
    slot.worker.postMessage({ id: call.id, payload: call.payload });
  }

  /** The running call took too long: answer it now and replace its worker. */
  private overrun(slot: Slot): void {
    const call = slot.call;
    this.settle(slot);
    this.remove(slot);
    void slot.worker.terminate();
    call?.reject(new CallTimedOut(this.opts.timeoutMs));
    this.refill();
  }

  private settle(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.call = null;
    slot.worker.unref();
  }

  private remove(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
  }

  private next(slot: Slot): void {
    const call = this.queue.shift();
    if (call) this.dispatch(slot, call);
  }

  /**
   * After a worker went away: a new one starts at once (its start-up, a few hundred ms of module
   * loading, is not spent by the next call) and takes the next waiting call.
   */
  private refill(): void {
    if (this.closed || this.slots.length >= this.opts.threads) return;
    this.next(this.spawn());
  }
}
