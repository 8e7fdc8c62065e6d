import { cp, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { nativeDirOf } from '../src/db/pg-runner.js';
import { withScratchDatabase } from '../src/db/scratch.js';

/**
 * The embedded PostgreSQL as people first run it: as root, from a folder only root may enter
 * (what `mktemp -d` makes, anything under /root), with the binaries and DATA_DIR both in it.
 */
const isRoot = process.getuid?.() === 0;
const privateRoot = await mkdtemp(path.join(os.tmpdir(), 'cible-private-'));
afterAll(() => rm(privateRoot, { recursive: true, force: true }));

async function query(url: string, sql: string) {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

const withMode = async <T>(mode: string | undefined, fn: () => Promise<T>): Promise<T> => {
  const before = process.env.CIBLE_PG_RUN_AS;
  if (mode) process.env.CIBLE_PG_RUN_AS = mode;
  else delete process.env.CIBLE_PG_RUN_AS;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.CIBLE_PG_RUN_AS;
    else process.env.CIBLE_PG_RUN_AS = before;
  }
};

describe('embedded PostgreSQL from a private folder', () => {
  it('starts, serves and stops with binaries and data in the private folder', async () => {
    // The premise: nobody but its owner may enter the folder (what `mktemp -d` makes).
    expect((await stat(privateRoot)).mode & 0o077).toBe(0);
    const nativeDir = path.join(privateRoot, 'clone', 'node_modules', 'native');
    await cp(await nativeDirOf(), nativeDir, { recursive: true, verbatimSymlinks: true });
    const dir = path.join(privateRoot, 'data', 'postgres');
    const db = await startEmbeddedPostgres({ dir, ephemeral: true, nativeDir });
    try {
      expect(db.mode).toBe(isRoot ? 'userns' : 'direct');
      const [row] = await query(db.adminUrl, 'select current_user as u, 6 * 7 as n');
      expect(row).toEqual({ u: 'cible', n: 42 });
      // The data folder stays the caller's: nothing handed to another user.
      expect((await stat(dir)).uid).toBe(process.getuid?.());
    } finally {
      await db.stop();
    }
    // A second start on the same data (a restart) finds it initialised.
    const again = await startEmbeddedPostgres({ dir, ephemeral: true, nativeDir });
    await again.stop();
  });

  it.runIf(isRoot)(
    'without user namespaces, a data folder postgres cannot enter fails at once, in one line',
    async () => {
      const dir = path.join(privateRoot, 'unreachable', 'postgres');
      const started = withMode('postgres-user', () => startEmbeddedPostgres({ dir, ephemeral: true }));
      await expect(started).rejects.toThrow(
        /^Running as root without user namespaces.*cannot enter .*set DATA_DIR/,
      );
      await started.catch((err: Error) => expect(err.message).not.toContain('\n'));
    },
  );

  it.runIf(isRoot)('without user namespaces, root runs it as postgres from a copy it removes', async () => {
    const open = await mkdtemp(path.join(os.tmpdir(), 'cible-open-'));
    const { chmod } = await import('node:fs/promises');
    await chmod(open, 0o755);
    try {
      const db = await withMode('postgres-user', () =>
        startEmbeddedPostgres({ dir: path.join(open, 'postgres'), ephemeral: true }),
      );
      try {
        expect(db.mode).toBe('postgres-user');
        const [row] = await query(db.adminUrl, 'select 1 as one');
        expect(row.one).toBe(1);
      } finally {
        await db.stop();
      }
      const copies = (await readdir(os.tmpdir())).filter((n) => n.startsWith('cible-pg-bin-'));
      expect(copies).toEqual([]);
    } finally {
      await rm(open, { recursive: true, force: true });
    }
  });

  it('a scratch database (migration tooling) leaves nothing behind', async () => {
    const before = await readdir(os.tmpdir());
    const n = await withScratchDatabase(async (url) => (await query(url, 'select 7 as n'))[0].n);
    expect(n).toBe(7);
    expect(await readdir(os.tmpdir())).toEqual(before);
  });
});
