import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive } from '../src/db/embedded.js';
import { demoCredentials, exited, login, postmasterPid as pidOf, startServer } from './server-process.js';

/** `npm start` as a user runs it: a real process on the embedded database, then signals. */
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cible-start-'));
// Left private (0700, as mkdtemp makes it): as root, the server must still start in it.
afterAll(() => rm(dataDir, { recursive: true, force: true }));

const start = () => startServer(['--import', 'tsx', 'src/main.ts'], { DATA_DIR: dataDir });
const postmasterPid = () => pidOf(dataDir);

describe('npm start', () => {
  let email = '';
  let password = '';

  it('starts the embedded database, seeds a demo owner, and stops everything on Ctrl-C', async () => {
    const s = await start();
    const creds = demoCredentials(s.output());
    expect(creds).not.toBeNull();
    ({ email, password } = creds!);
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
