import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { ensureDatabase } from '../src/db/database.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { migrate, openOrm } from '../src/db/orm.js';
import { type App, buildApp } from '../src/server.js';
import { createLogger } from '../src/shared/logger.js';

export interface BenchApp {
  app: App;
  url: string;
  /** The tracking base (http://127.0.0.1:port). */
  origin: string;
  pool: pg.Pool;
  databaseUrl: string;
  gql<T = Record<string, unknown>>(query: string, variables?: unknown, token?: string): Promise<T>;
  close(): Promise<void>;
}

/**
 * A fresh embedded PostgreSQL (fsync on, like production) in a temporary directory (or `dir`,
 * kept: a bench may reuse its generated data in a later run), migrated. For benches whose servers
 * run as child processes.
 */
export async function startBenchDatabase(opts: { dir?: string } = {}) {
  const dir = opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'cible-bench-')));
  if (opts.dir) await mkdir(opts.dir, { recursive: true });
  const db = await startEmbeddedPostgres({ dir });
  await ensureDatabase(db.adminUrl, 'cible_bench');
  const databaseUrl = db.urlFor('cible_bench');
  const orm = await openOrm(databaseUrl);
  await migrate(orm);
  await orm.close();
  return { dir, db, databaseUrl };
}

/**
 * startBenchDatabase and the real server on a free port: benches measure the same code paths clients use.
 */
export async function startBench(
  opts: { dir?: string; env?: Record<string, string> } = {},
): Promise<BenchApp> {
  const { dir, db, databaseUrl } = await startBenchDatabase(opts);
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATA_DIR: dir,
    TRACKING_SECRET: 'bench-secret-bench-secret-bench-secret',
    ...opts.env,
  });
  const app = await buildApp(config, { databaseUrl, logger: createLogger('warn') });
  const url = await app.start();
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  // An idle client cut when the embedded server stops must not crash the bench at its very end.
  pool.on('error', () => {});
  return {
    app,
    url,
    origin: new URL(url).origin,
    pool,
    databaseUrl,
    async gql(query, variables, token) {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: unknown; errors?: unknown[] };
      if (body.errors?.length) throw new Error(JSON.stringify(body.errors));
      return body.data as never;
    },
    async close() {
      await pool.end();
      await app.stop();
      await db.stop();
      if (!opts.dir) await rm(dir, { recursive: true, force: true });
      // Agenda leaves per-job timers behind after it stops (STACK-NOTES), which would keep a
      // finished bench alive for minutes: the script ends once the code after `await close()`
      // (its tables, printed synchronously) has run. Output to a pipe or file is written
      // synchronously on Linux, so nothing printed is lost.
      setImmediate(() => process.exit(process.exitCode ?? 0));
    },
  };
}

/** A new account and its owner's token. */
export async function signUp(b: BenchApp, name: string): Promise<{ token: string; accountId: string }> {
  const email = `${name.toLowerCase()}.${Date.now()}@bench.test`;
  const r = await b.gql<{ signUp: { token: string } }>(
    'mutation ($input: SignUpInput!) { signUp(input: $input) { token } }',
    { input: { accountName: name, name, email, password: 'correct horse battery' } },
  );
  const { rows } = await b.pool.query('select account_id from app_user where email = $1', [email]);
  return { token: r.signUp.token, accountId: rows[0].account_id };
}

/** `n` contacts <prefix><i>@bench.test made in SQL, their ids in order. */
export async function benchContacts(
  b: BenchApp,
  accountId: string,
  n: number,
  prefix: string,
): Promise<string[]> {
  const { rows } = await b.pool.query<{ id: string }>(
    `insert into contact (account_id, email, unique_value)
     select $1, $3 || g || '@bench.test', $3 || g || '@bench.test' from generate_series(1, $2) g returning id::text`,
    [accountId, n, prefix],
  );
  return rows.map((r) => r.id).sort((a, b) => Number(a) - Number(b));
}

export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Prints a Markdown table. */
export function table(head: string[], rows: (string | number)[][]): void {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of cells.slice(1)) console.log(line(r));
}

/** The q-quantile of the samples (nearest rank). */
export const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

/** Milliseconds, two decimals below 10. */
export const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(0));

/** Wall-clock milliseconds of each of `runs` sequential calls. */
export async function timeRuns(f: () => Promise<unknown>, runs: number): Promise<number[]> {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await f();
    xs.push(performance.now() - t);
  }
  return xs;
}

/** The last CPU ticks read per PostgreSQL process, kept after it ends. */
const pgTicks = new Map<number, number>();

/**
 * CPU microseconds used so far by the database's processes (backends and background processes, as
 * pg_stat_activity lists them), from /proc: the share of a hit PostgreSQL spends beside the server's.
 * A process that ended (an idle pool client closed) keeps its last reading, so the total never
 * goes down between two calls.
 */
export async function postgresCpu(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ pid: number }>('select pid from pg_stat_activity');
  for (const { pid } of rows) {
    try {
      // "pid (comm) state ppid ...": utime and stime are fields 14 and 15, 11 and 12 after ')'.
      const f = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
      pgTicks.set(pid, Number(f[11]) + Number(f[12]));
    } catch {} // ended meanwhile
  }
  let ticks = 0;
  for (const v of pgTicks.values()) ticks += v;
  return (ticks * 1e6) / 100; // USER_HZ is 100 on Linux
}
