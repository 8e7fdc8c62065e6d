import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type Actor, signUpOwner, startTestApp, type TestApp } from './harness.js';

/** A Cible server as a real child process (`npm start`'s or the build's entry), and its output. */
export interface Started {
  proc: ChildProcess;
  url: string;
  output: () => string;
}

/** Spawns `node <args>` with these variables and resolves once it prints the URL it serves. */
export function startServer(
  args: string[],
  env: Record<string, string>,
  opts: { cwd?: string } = {},
): Promise<Started> {
  const proc = spawn(process.execPath, args, {
    cwd: opts.cwd,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start in 60 s:\n${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /serving (http:\/\/\S+\/graphql)/.exec(out);
      // The URL and the first-start banner are printed in one write.
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1], output: () => out });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.on('exit', (c) => reject(new Error(`exited with ${c}:\n${out}`)));
  });
}

export const exited = (proc: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (proc.exitCode !== null) resolve(proc.exitCode);
    else proc.on('exit', (c) => resolve(c));
  });

export const alive = (p: ChildProcess) => p.exitCode === null && p.signalCode === null;

/** SIGTERM every child still alive (SIGKILL after 10 s) and wait for their exits. */
export async function stopProcesses(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.filter(alive).map(async (p) => {
      p.kill('SIGTERM');
      const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
      await exited(p);
      clearTimeout(timer);
    }),
  );
}

export function postmasterPid(dataDir: string): number {
  return Number(readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

/** The demo owner's credentials from the first-start banner. */
export function demoCredentials(output: string): { email: string; password: string } | null {
  const m = /email:\s+(\S+)\s+password:\s+(\S+)/.exec(output);
  return m ? { email: m[1], password: m[2] } : null;
}

export async function login(url: string, email: string, password: string): Promise<string | null> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { token } }',
      variables: { e: email, p: password },
    }),
  });
  const body = (await res.json()) as { data?: { login: { token: string } } };
  return body.data?.login.token ?? null;
}

/** An app in this process and a real `npm start` child on its database, sharing one Redis. */
export interface TwoProcesses {
  /** Where changes are made (in this process), and its database. */
  a: TestApp & { databaseUrl: string };
  /** The second server, a child process. */
  b: Started;
  /** An owner signed up on A before B starts, so B seeds no demo account. */
  owner: Actor;
}

export async function startTwoProcesses(redisUrl: string, trackingSecret: string): Promise<TwoProcesses> {
  const a = await startTestApp({ REDIS_URL: redisUrl });
  const owner = await signUpOwner(a);
  const b = await startServer(['--import', 'tsx', 'src/main.ts'], {
    DATABASE_URL: a.databaseUrl,
    REDIS_URL: redisUrl,
    TRACKING_SECRET: trackingSecret,
  });
  return { a, b, owner };
}

/** Stops what startTwoProcesses started (B first: it holds connections to A's database). */
export async function stopTwoProcesses(p: TwoProcesses | undefined): Promise<void> {
  if (!p) return;
  p.b.proc.kill('SIGTERM');
  await exited(p.b.proc);
  await p.a.close();
}
