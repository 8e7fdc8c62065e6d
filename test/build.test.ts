import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive } from '../src/db/embedded.js';
import { demoCredentials, exited, login, postmasterPid, startServer } from './server-process.js';

/**
 * The production path: tsconfig.build.json (what `npm run build` runs) compiled for real, then
 * `node <out>/main.js` on the embedded database. The output goes inside the repository (a
 * throw-away folder) so the compiled files resolve node_modules as dist/ does.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = await mkdtemp(path.join(root, '.build-test-'));
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cible-build-data-'));
const tmpDir = await mkdtemp(path.join(os.tmpdir(), 'cible-build-tmp-'));
afterAll(async () => {
  for (const dir of [outDir, dataDir, tmpDir]) await rm(dir, { recursive: true, force: true });
});

describe('npm run build && node dist/main.js', () => {
  it('compiles, serves probes, metrics and GraphQL, and stops cleanly on SIGTERM', {
    timeout: 300_000,
  }, async () => {
    const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], {
      cwd: root,
    });
    expect(existsSync(path.join(outDir, 'main.js'))).toBe(true);
    expect(existsSync(path.join(outDir, 'migrations'))).toBe(true);
    expect(readdirSync(outDir).some((f) => f.endsWith('.ts'))).toBe(false);

    // Run from another folder: nothing may depend on the working directory but DATA_DIR.
    const s = await startServer(
      [path.join(outDir, 'main.js')],
      {
        DATA_DIR: dataDir,
        TMPDIR: tmpDir,
        LOG_LEVEL: 'info',
        NODE_ENV: 'production',
        METRICS_TOKEN: 'build-test-metrics-token',
      },
      { cwd: dataDir },
    );
    try {
      const base = s.url.replace(/\/graphql$/, '');
      expect((await fetch(`${base}/health`)).status).toBe(200);
      const ready = await fetch(`${base}/ready`);
      expect(await ready.json()).toEqual({ status: 'ready' });
      expect((await fetch(`${base}/metrics`)).status).toBe(401);
      const metrics = await fetch(`${base}/metrics`, {
        headers: { authorization: 'Bearer build-test-metrics-token' },
      });
      expect(await metrics.text()).toMatch(/cible_db_pool_connections/);

      const creds = demoCredentials(s.output());
      expect(creds).not.toBeNull();
      const token = await login(s.url, creds!.email, creds!.password);
      expect(token).toMatch(/^cib_/);
      const me = await fetch(s.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ me { email } }' }),
      });
      expect(await me.json()).toEqual({ data: { me: { email: creds!.email } } });
      // Logs are JSON lines (stderr); the banner is the one plain-text block (stdout).
      const logLines = s
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'));
      expect(logLines.length).toBeGreaterThan(0);
      for (const line of logLines) expect(JSON.parse(line)).toMatchObject({ level: expect.any(String) });
    } catch (err) {
      s.proc.kill('SIGKILL');
      throw err;
    }

    const pg = postmasterPid(dataDir);
    s.proc.kill('SIGTERM');
    expect(await exited(s.proc), s.output()).toBe(0);
    expect(isAlive(pg)).toBe(false);
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    expect(readdirSync(tmpDir)).toEqual([]);
  });
});
