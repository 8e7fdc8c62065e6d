/**
 * What bench/sending.ts runs around the engine: the SMTP sink (bench/sending-sink.ts) and the real
 * server as child processes (the server's RSS sampled from /proc), and the baseline, nodemailer's
 * own pool sending one pre-rendered message over and over.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The sink (bench/sending-sink.ts) as a child process, and its answers over IPC. */
export function startDiscardSink(): Promise<{
  url: string;
  pid: number;
  /** Messages since the last reset, per recipient address, and when (wall-clock ms) the first and last ended. */
  seen(): Promise<{ total: number; first: number; last: number; counts: Map<string, number> }>;
  reset(): Promise<void>;
  close(): Promise<void>;
}> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'bench/sending-sink.ts'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  let id = 0;
  const ask = <T>(type: 'reset' | 'seen') =>
    new Promise<T>((resolve) => {
      const mine = ++id;
      const on = (m: { id: number } & T) => {
        if (m.id !== mine) return;
        proc.off('message', on);
        resolve(m);
      };
      proc.on('message', on);
      proc.send({ id: mine, type });
    });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^SMTP (\S+)$/m.exec(out);
      if (!m) return;
      resolve({
        url: m[1],
        pid: proc.pid as number,
        seen: async () => {
          const r = await ask<{ total: number; first: number; last: number; counts: [string, number][] }>(
            'seen',
          );
          return { ...r, counts: new Map(r.counts) };
        },
        reset: () => ask<unknown>('reset').then(() => {}),
        close: () =>
          new Promise<void>((done) => {
            if (proc.exitCode !== null) return done();
            proc.once('exit', () => done());
            proc.disconnect();
          }),
      });
    });
    proc.once('exit', (c) => reject(new Error(`sink exited with ${c}: ${out}`)));
  });
}

export type Sink = Awaited<ReturnType<typeof startDiscardSink>>;

export interface Child {
  proc: ChildProcess;
  pid: number;
  url: string;
  /** Resident memory now, and its high-water mark (VmHWM), in bytes. */
  rss(): Promise<{ now: number; peak: number }>;
  stop(): Promise<void>;
}

/**
 * The real server (`node --import tsx src/main.ts`, what `npm start` runs) with these variables;
 * with `cpuProfDir`, it writes a V8 CPU profile there when it stops.
 */
export function startServerChild(env: Record<string, string>, cpuProfDir = ''): Promise<Child> {
  const prof = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [];
  const proc = spawn(process.execPath, [...prof, '--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const rss = async () => {
    const status = await readFile(`/proc/${proc.pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { now: kb('VmRSS') * 1024, peak: kb('VmHWM') * 1024 };
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      proc.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      proc.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start in 90 s:\n${out}`)), 90_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      // Later output (warnings, errors) goes on to this process's stderr.
      if (out.length > 100_000) out = out.slice(-50_000);
      const m = /serving (http:\/\/\S+\/graphql)/.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.stdout?.off('data', onData);
        proc.stderr?.off('data', onData);
        proc.stderr?.pipe(process.stderr);
        resolve({ proc, pid: proc.pid as number, url: m[1], rss, stop });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (c) => reject(new Error(`server exited with ${c}:\n${out}`)));
  });
}

/** Samples `sample` every `everyMs` until the returned stop is called; resolves to the maximum. */
export function sampleMax(sample: () => Promise<number>, everyMs = 100): () => Promise<number> {
  let max = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      max = Math.max(max, await sample().catch(() => 0));
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return async () => {
    running = false;
    await loop;
    return max;
  };
}

export interface PreRendered {
  from: string;
  to: string;
  subject: string;
  html: string;
  text: string;
  headers: Record<string, string>;
}

/**
 * The baseline: nodemailer's pooled SMTP transport with `connections` connections sending `n`
 * copies of one pre-rendered message, with twice as many messages handed over as there are
 * connections so that no connection ever waits for work. Resolves to the seconds from the first
 * hand-over to the last 250 (every one must be accepted, or it throws).
 */
export async function nodemailerPool(
  sinkUrl: string,
  connections: number,
  n: number,
  m: PreRendered,
): Promise<number> {
  const transport = nodemailer.createTransport({
    url: sinkUrl,
    pool: true,
    maxConnections: connections,
  } as never);
  let next = 0;
  const t0 = performance.now();
  try {
    const lane = async () => {
      while (next < n) {
        next++;
        const info = await transport.sendMail(m);
        if (info.rejected.length) throw new Error(`baseline refused: ${info.response}`);
      }
    };
    await Promise.all(Array.from({ length: 2 * connections }, lane));
    return (performance.now() - t0) / 1000;
  } finally {
    transport.close();
  }
}

/** CPU seconds (user + system) of a process and of its children, reaped or alive (Linux /proc). */
export async function treeCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (!stat) return 0;
  // utime, stime, cutime, cstime (fields 14 to 17), in clock ticks (USER_HZ, 100 on Linux).
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  let s = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  for (const c of children.split(' ').filter(Boolean)) s += await treeCpuSeconds(Number(c));
  return s;
}
