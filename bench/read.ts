/**
 * `npm run bench:read [-- --contacts 10000 --connections 32 --seconds 5 --rounds 6]`: what the
 * stack costs an authorised read. One embedded PostgreSQL, one account holding N contacts, and two
 * servers, each in its own child process (bench/read-servers.ts): Cible, asked
 * `contacts(first: 50) { nodes { id email firstName lastName } }` by the owner with a bearer
 * token, and a bare graphql-yoga answering the same page with one SQL statement and no
 * authentication. Both get the same request body over keep-alive connections from this process;
 * rounds alternate (ABBA) so drift on a shared machine falls on both. Prints each round, the
 * medians and the ratio. The first answer of each server is compared byte for byte, and every
 * answer after must have the same length and no errors, or the round counts it as an error.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ensureDatabase } from '../src/db/database.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { migrate, openOrm } from '../src/db/orm.js';
import { arg, fmt, table } from './lib.js';

const N = Number(arg('contacts', '10000'));
const PAGE = Number(arg('page', '50'));
const CONNECTIONS = Number(arg('connections', '32'));
const SECONDS = Number(arg('seconds', '5'));
const WARMUP = Number(arg('warmup', '3'));
const ROUNDS = Number(arg('rounds', '6'));
/** A bound on each round whatever the speed, so the bench always ends. */
const MAX_REQUESTS = Number(arg('max-requests', '200000'));
/** `--cpu-prof <dir>`: each server writes V8 CPU profiles in <dir>/cible or <dir>/bare when it stops. */
const CPU_PROF = arg('cpu-prof', '');

const root = fileURLToPath(new URL('..', import.meta.url));
const log = (m: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const QUERY = `query Read($first: Int) { contacts(first: $first) { nodes { id email firstName lastName } } }`;
const BODY = JSON.stringify({ query: QUERY, variables: { first: PAGE } });

interface Target {
  name: string;
  url: URL;
  pid: number;
  headers: Record<string, string>;
  agent: http.Agent;
  expected?: string;
}

function post(t: Target): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(t.url, { method: 'POST', agent: t.agent, headers: t.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(BODY);
  });
}

interface Round {
  requests: number;
  errors: number;
  perSecond: number;
  p50: number;
  p99: number;
  /** CPU time of the server process (user + system) per answered request. */
  cpuPerRequest: number;
}

/** User + system CPU seconds of a process so far (Linux), or NaN elsewhere. */
async function cpuSeconds(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ)
  } catch {
    return Number.NaN;
  }
}

/** CONNECTIONS clients in a closed loop for `seconds` (or MAX_REQUESTS requests). */
async function load(t: Target, seconds: number): Promise<Round> {
  const latencies: number[] = [];
  let started = 0;
  let errors = 0;
  const cpu0 = await cpuSeconds(t.pid);
  const begin = performance.now();
  const deadline = begin + seconds * 1000;
  const client = async () => {
    while (performance.now() < deadline && started < MAX_REQUESTS) {
      started++;
      const t0 = performance.now();
      const r = await post(t);
      latencies.push(performance.now() - t0);
      if (r.status !== 200 || r.body.length !== t.expected?.length || r.body.includes('"errors"')) errors++;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, client));
  const elapsed = (performance.now() - begin) / 1000;
  const cpu = (await cpuSeconds(t.pid)) - cpu0;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    requests: latencies.length,
    errors,
    perSecond: latencies.length / elapsed,
    p50: at(0.5),
    p99: at(0.99),
    cpuPerRequest: cpu / latencies.length,
  };
}

function startServer(args: string[], nodeArgs: string[] = []): Promise<{ proc: ChildProcess; url: URL }> {
  const proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'bench/read-servers.ts', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^URL (\S+)$/m.exec(out);
      if (m) resolve({ proc, url: new URL(m[1]) });
    });
    proc.once('exit', (code) => reject(new Error(`server ${args.join(' ')} exited with ${code}: ${out}`)));
  });
}

function stopServer(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'cible-bench-'));
const db = await startEmbeddedPostgres({ dir });
const children: ChildProcess[] = [];
let pool: pg.Pool | null = null;
try {
  await ensureDatabase(db.adminUrl, 'cible_bench');
  const databaseUrl = db.urlFor('cible_bench');
  const orm = await openOrm(databaseUrl);
  await migrate(orm);
  await orm.close();
  pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });

  const cible = await startServer(
    ['--role', 'cible', '--database-url', databaseUrl, '--data-dir', dir],
    CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(CPU_PROF, 'cible')] : [],
  );
  children.push(cible.proc);
  const email = `owner.${Date.now()}@bench.test`;
  const signUp = await fetch(cible.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'mutation ($input: SignUpInput!) { signUp(input: $input) { token } }',
      variables: { input: { accountName: 'Read', name: 'Owner', email, password: 'correct horse battery' } },
    }),
  });
  const token = ((await signUp.json()) as { data: { signUp: { token: string } } }).data.signUp.token;
  const { rows } = await pool.query('select account_id from app_user where email = $1', [email]);
  const accountId = rows[0].account_id as string;

  log(`generating ${fmt(N)} contacts in one account`);
  await pool.query(
    `insert into contact (account_id, email, first_name, last_name, fields, unique_value)
     select $1, 'c' || g || '@bench.test', 'First' || g, 'Last' || g, '{}', 'c' || g || '@bench.test'
       from generate_series(1, $2::int) g`,
    [accountId, N],
  );
  await pool.query('vacuum analyze contact');

  const bare = await startServer(
    ['--role', 'bare', '--database-url', databaseUrl, '--account', accountId],
    CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(CPU_PROF, 'bare')] : [],
  );
  children.push(bare.proc);

  const json = { 'content-type': 'application/json', accept: 'application/json' };
  const targets: Target[] = [
    {
      name: 'Cible (owner, bearer token)',
      url: cible.url,
      pid: cible.proc.pid ?? 0,
      headers: { ...json, authorization: `Bearer ${token}` },
      agent: new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS }),
    },
    {
      name: 'bare graphql-yoga, one SQL statement',
      url: bare.url,
      pid: bare.proc.pid ?? 0,
      headers: json,
      agent: new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS }),
    },
  ];
  for (const t of targets) {
    const first = await post(t);
    if (first.status !== 200 || first.body.includes('"errors"'))
      throw new Error(`${t.name} answered ${first.status}: ${first.body.slice(0, 500)}`);
    t.expected = first.body;
  }
  const same = targets[0].expected === targets[1].expected;
  if (!same)
    throw new Error(
      `the two servers do not answer the same page:\n${targets[0].expected?.slice(0, 300)}\n${targets[1].expected?.slice(0, 300)}`,
    );
  log(`both answer the same page of ${PAGE} (${fmt(targets[0].expected?.length ?? 0)} bytes)`);

  for (const t of targets) {
    log(`warming up ${t.name} for ${WARMUP} s`);
    await load(t, WARMUP);
  }
  const results = new Map<Target, Round[]>(targets.map((t) => [t, []]));
  const perRound: (string | number)[][] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // ABBA: each server goes first as often as second.
    const order = i % 2 === 0 ? targets : [...targets].reverse();
    for (const t of order) {
      const r = await load(t, SECONDS);
      results.get(t)?.push(r);
      perRound.push([
        i + 1,
        t.name,
        fmt(r.perSecond),
        r.p50.toFixed(1),
        r.p99.toFixed(1),
        fmt(r.cpuPerRequest * 1e6),
        r.errors,
      ]);
      log(`round ${i + 1}: ${t.name}: ${fmt(r.perSecond)} requests/s`);
    }
  }

  console.log(
    `\nRead bench: ${fmt(N)} contacts in one account, page of ${PAGE}, ${CONNECTIONS} connections, ` +
      `${ROUNDS} alternating rounds of ${SECONDS} s each\n`,
  );
  table(['round', 'server', 'requests/s', 'p50 ms', 'p99 ms', 'server CPU µs/request', 'errors'], perRound);
  console.log('');
  const medianOf = (t: Target, of: (r: Round) => number) => median((results.get(t) ?? []).map(of));
  const ours = medianOf(targets[0], (r) => r.perSecond);
  const baseline = medianOf(targets[1], (r) => r.perSecond);
  const cpu = (t: Target) => fmt(medianOf(t, (r) => r.cpuPerRequest) * 1e6);
  const errors = [...results.values()].flat().reduce((n, r) => n + r.errors, 0);
  table(
    ['server', 'requests/s (median)', 'ratio', 'server CPU µs/request (median)'],
    [
      [targets[0].name, fmt(ours), `${(ours / baseline).toFixed(2)}x`, cpu(targets[0])],
      [targets[1].name, fmt(baseline), '1.00x', cpu(targets[1])],
    ],
  );
  console.log(`\nsame page from both: ${same ? 'yes' : 'no'}; errors: ${errors}`);
  for (const t of targets) t.agent.destroy();
} finally {
  await Promise.all(children.map(stopServer));
  await pool?.end();
  await db.stop();
  await rm(dir, { recursive: true, force: true });
}
