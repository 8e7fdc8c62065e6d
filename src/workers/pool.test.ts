import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../shared/errors.js';
import { CallTimedOut, WorkerDied, WorkerPool } from './pool.js';

const entry = new URL('./testing/echo.worker.ts', import.meta.url);
let pool: WorkerPool;
const open = (threads: number, maxQueue: number, timeoutMs = 500) => {
  pool = new WorkerPool(entry, { threads, maxQueue, timeoutMs, heapMb: 64 });
  return pool;
};
afterEach(() => pool.close());

describe('WorkerPool', () => {
  it('answers calls, and the message of what a call threw', async () => {
    const p = open(2, 10);
    expect(await Promise.all(['a', 'b', 'c'].map((x) => p.run(x)))).toEqual(['echo a', 'echo b', 'echo c']);
    await expect(p.run('throw')).rejects.toThrow('thrown in the worker');
    expect(p.size).toBe(2);
  });

  it('terminates a call over the limit, replaces its worker and runs the calls waiting behind it', async () => {
    const p = open(1, 10, 300);
    const spin = p.run('spin');
    const after = p.run('after');
    await expect(spin).rejects.toBeInstanceOf(CallTimedOut);
    expect(await after).toBe('echo after');
    expect(p.size).toBe(1);
  });

  it('fails the call of a worker that dies, and keeps working', async () => {
    const p = open(1, 10);
    await expect(p.run('die')).rejects.toBeInstanceOf(WorkerDied);
    expect(await p.run('again')).toBe('echo again');
  });

  it('ends a worker that reaches its heap limit, and says so', async () => {
    const p = open(1, 10, 60_000);
    const err = await p.run('grow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerDied);
    expect((err as WorkerDied).outOfMemory).toBe(true);
    expect(await p.run('again')).toBe('echo again');
  });

  it('refuses a call with RATE_LIMITED when every worker is busy and the queue is full', async () => {
    const p = open(1, 1, 300);
    const running = p.run('spin');
    const waiting = p.run('spin');
    const refused = p.run('x').catch((e: unknown) => e);
    expect(await refused).toBeInstanceOf(AppError);
    expect(((await refused) as AppError).extensions.code).toBe('RATE_LIMITED');
    await expect(running).rejects.toBeInstanceOf(CallTimedOut);
    await expect(waiting).rejects.toBeInstanceOf(CallTimedOut);
  });

  it('close() fails waiting and running calls and ends every worker', async () => {
    const p = open(1, 5, 10_000);
    const running = p.run('spin').catch((e: Error) => e.message);
    const waiting = p.run('x').catch((e: Error) => e.message);
    await new Promise((r) => setTimeout(r, 50));
    await p.close();
    expect(await running).toBe('the worker pool is closed');
    expect(await waiting).toBe('the worker pool is closed');
    expect(p.size).toBe(0);
    await expect(p.run('late')).rejects.toThrow('closed');
  });
});
