import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive } from '../src/db/embedded.js';

/** `npm start` as a user runs it: a real process on the embedded database, then signals. */
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cible-start-'));
// Left private (0700, as mkdtemp makes it): as root, the server must still start in it.
afterAll(() => rm(dataDir, { recursive: true, force: true }));

interface Started {
  proc: ChildProcess;
  url: string;
  output: () => string;
}

function start(): Promise<Started> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: '',
      LOG_LEVEL: 'warn',
    },
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

const exited = (proc: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (proc.exitCode !== null) resolve(proc.exitCode);
    else proc.on('exit', (c) => resolve(c));
  });

function postmasterPid(): number {
  return Number(readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

async function login(url: string, email: string, password: string): Promise<string | null> {
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

describe('npm start', () => {
  let email = '';
  let password = '';

  it('starts the embedded database, seeds a demo owner, and stops everything on Ctrl-C', async () => {
    const s = await start();
    const creds = /email:\s+(\S+)\s+password:\s+(\S+)/.exec(s.output());
    expect(creds).not.toBeNull();
    [, email, password] = creds!;
    expect(await login(s.url, email, password)).toMatch(/^cib_/);
    const pg = postmasterPid();
    expect(isAlive(pg)).toBe(true);
    s.proc.kill('SIGINT');
    expect(await exited(s.proc), s.output()).toBe(0);
    expect(isAlive(pg)).toBe(false);
  });

  it('reuses the data on the next start, without a new demo password', async () => {
    const s = await start();
    expect(s.output()).not.toMatch(/First start/);
    expect(await login(s.url, email, password)).toMatch(/^cib_/);
    s.proc.kill('SIGTERM');
    expect(await exited(s.proc), s.output()).toBe(0);
  });

  it('recovers from a killed process whose PostgreSQL was left running', async () => {
    const s = await start();
    const orphan = postmasterPid();
    s.proc.kill('SIGKILL');
    await exited(s.proc);
    expect(isAlive(orphan)).toBe(true);
    const again = await start();
    expect(isAlive(orphan)).toBe(false);
    expect(await login(again.url, email, password)).toMatch(/^cib_/);
    again.proc.kill('SIGINT');
    expect(await exited(again.proc), again.output()).toBe(0);
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  });
});
