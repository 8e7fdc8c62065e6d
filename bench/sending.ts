/**
 * `npm run bench:sending [-- --contacts 1000000] [--audience 100000] [--connections 10] [--cpu-prof <dir>] [--only freeze] [--explain]`: the
 * sending engine against nodemailer's own pool, the freeze of a whole account, and the server's
 * memory during a send (issue 13, Performance).
 *
 * Data (SQL): N contacts in one account, first names F<i>; every (N / audience)-th contact is in
 * France (the segment sent to), and every (10 N / audience)-th other one in Belgium (a send ten
 * times smaller, for memory). Segments and operations are made through the API of the real
 * server: `node --import tsx src/main.ts` as a child process, on SMTP_URL `<sink>?maxConnections=
 * <connections>` (nodemailer's pooled transport, so `connections` connections), the dispatcher
 * ticking every second (SEND_DISPATCH_SECONDS=1), everything else as configured: SEND_*
 * variables in this environment go to the server (e.g. `SEND_CONCURRENCY=5 npm run bench:sending`).
 *
 * - ours: an Emailing to the segment (personalised subject and HTML, five links, so five signed
 *   click links, an open pixel and the unsubscribe link and headers per message) is scheduled
 *   with `scheduleOperation(now: true)`; timed from that call to the last message at the sink.
 *   Each send runs on a fresh server process whose RSS is sampled every 100 ms.
 * - baseline: nodemailer's pool (`pool: true, maxConnections`) sending as many copies of one
 *   pre-rendered message (the same message as ours, rendered once) to the same sink, before and
 *   after ours; the faster of the two runs is the baseline.
 * - freeze: `freezeAudience` of an Emailing to the whole account (N recipients), in a
 *   transaction rolled back afterwards, as the dispatcher runs it.
 * The sink is an smtp-server in a process of its own (bench/sending-sink.ts) that reads every
 * message and drops it, so neither sender shares its event loop with it. Every
 * recipient must have exactly one message there, the operation must end SENT with every
 * recipient counted, and the freeze must write N recipients, or the bench exits non-zero.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { openOrm } from '../src/db/orm.js';
import { trackingKey } from '../src/modules/events/tracking.token.js';
import type { EmailContent } from '../src/modules/operations/operation.entity.js';
import { compileOperationMessage } from '../src/modules/operations/operation.preview.js';
import { findOperation } from '../src/modules/operations/operation.repository.js';
import { mergeDataOfMany } from '../src/modules/sending/sending.claims.js';
import { freezeAudience } from '../src/modules/sending/sending.freeze.js';
import { linkSigner } from '../src/modules/sending/sending.links.js';
import { decorate } from '../src/modules/sending/sending.message.js';
import { log } from './generate.js';
import { arg, fmt, startBenchDatabase, table } from './lib.js';
import {
  type Child,
  nodemailerPool,
  type PreRendered,
  sampleMax,
  startDiscardSink,
  startServerChild,
  treeCpuSeconds,
} from './sending-parts.js';

const N = Number(arg('contacts', '1000000'));
const AUDIENCE = Number(arg('audience', '100000'));
const CONNECTIONS = Number(arg('connections', '10'));
/** `--cpu-prof <dir>`: each server process writes a V8 CPU profile in <dir> when it stops. */
const CPU_PROF = arg('cpu-prof', '');
/** `--only freeze`: the data and the freeze alone (for working on the freeze). */
const ONLY = arg('only', '');
/** `--explain`: after the timed freeze, its statement once more under EXPLAIN (ANALYZE, BUFFERS). */
const EXPLAIN = process.argv.includes('--explain');
const STEP = Math.max(1, Math.floor(N / AUDIENCE));
const SECRET = 'bench-secret-bench-secret-bench-secret';
const PUBLIC_URL = 'https://cible.bench.example';
const FROM = 'news@bench.test';
const LINKS = ['new', 'sale', 'men', 'women', 'stores'].map(
  (p) => `https://shop.example/${p}?utm_source=cible`,
);
const HTML = `<!doctype html><html><body style="font-family:sans-serif">
<h1>Hello {{ contact.firstName }}</h1>
<p>Spring is here, {{ contact.firstName }}, and so is our new selection. ${'Fresh colours, light fabrics, and the pieces you asked for. '.repeat(8)}</p>
${LINKS.map((u, i) => `<p><a href="${u}" style="color:#c33">Offer ${i + 1}: see it</a></p>`).join('\n')}
<p>See you soon,<br>The Shop team</p></body></html>`;

/** Thrown to roll the freeze back once timed. */
class Rollback extends Error {}
const secs = (ms: number) => (ms / 1000).toFixed(1);
const mib = (b: number) => (b / 1024 / 1024).toFixed(0);

const { dir, db, databaseUrl } = await startBenchDatabase();
const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
pool.on('error', () => {});
const q = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
  pool.query(sql, params).then((r) => r.rows as T[]);
const sink = await startDiscardSink();
const children: Child[] = [];
let failures = 0;
const fail = (m: string) => {
  failures++;
  log(`MISMATCH: ${m}`);
};

/** CPU seconds so far of the sender (`pid`, or this process), the sink and PostgreSQL. */
const cpu = async (pid: number | null) => {
  const pg = Number((await readFile(path.join(dir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const own = process.cpuUsage();
  return {
    sender: pid ? await treeCpuSeconds(pid) : (own.user + own.system) / 1e6,
    sink: await treeCpuSeconds(sink.pid),
    pg: await treeCpuSeconds(pg),
  };
};
type Cpu = Awaited<ReturnType<typeof cpu>>;
/** CPU milliseconds per message between two readings. */
const perMessage = (a: Cpu, b: Cpu, n: number) => ({
  sender: ((b.sender - a.sender) * 1000) / n,
  sink: ((b.sink - a.sink) * 1000) / n,
  pg: ((b.pg - a.pg) * 1000) / n,
});

const serverEnv = {
  DATABASE_URL: databaseUrl,
  DATA_DIR: dir,
  SMTP_URL: `${sink.url}/?maxConnections=${CONNECTIONS}`,
  SEND_DISPATCH_SECONDS: '1',
  TRACKING_SECRET: SECRET,
  PUBLIC_URL,
  // Credits are not what is measured: an account that may send the whole bench.
  FREE_EMAIL_CREDITS: String(10 * N),
};
async function server(): Promise<Child> {
  const c = await startServerChild(serverEnv, CPU_PROF);
  children.push(c);
  return c;
}

async function gql<T>(c: Child, query: string, variables: unknown, token?: string): Promise<T> {
  const res = await fetch(c.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: unknown; errors?: unknown[] };
  if (body.errors?.length) throw new Error(JSON.stringify(body.errors));
  return body.data as T;
}

try {
  log(`generating ${fmt(N)} contacts`);
  const t0 = performance.now();
  const c1 = await server();
  const email = `owner.${Date.now()}@bench.test`;
  const { signUp } = await gql<{ signUp: { token: string } }>(
    c1,
    'mutation ($input: SignUpInput!) { signUp(input: $input) { token } }',
    { input: { accountName: 'Sending', name: 'Owner', email, password: 'correct horse battery' } },
  );
  const token = signUp.token;
  const [{ account_id: accountId }] = await q<{ account_id: string }>(
    'select account_id from app_user where email = $1',
    [email],
  );
  await q(`insert into sender (account_id, email, status, verified_at) values ($1, $2, 'VERIFIED', now())`, [
    accountId,
    FROM,
  ]);
  await q(
    `insert into contact (account_id, email, first_name, country, unique_value)
     select $1, 'c' || g || '@bench.test', 'F' || g,
            case when g % $3::int = 0 then 'FR' when g % ($3::int * 10) = 1 then 'BE' else 'DE' end,
            'c' || g || '@bench.test'
       from generate_series(1, $2::int) g`,
    [accountId, N, STEP],
  );
  await q('vacuum analyze contact');
  log(`data ready in ${secs(performance.now() - t0)} s`);

  const content = { subject: 'Hello {{ contact.firstName }}, spring is here', fromEmail: FROM, html: HTML };
  /** A validated Emailing to the contacts of one country, or to the whole account. */
  const operation = async (name: string, country: string | null, validate: boolean) => {
    let audience: Record<string, unknown> = { allContacts: true };
    if (country) {
      const { createSegment } = await gql<{ createSegment: { id: string } }>(
        c1,
        'mutation ($input: CreateSegmentInput!) { createSegment(input: $input) { id } }',
        { input: { name, criterion: { field: { name: 'country', op: 'EQ', value: country } } } },
        token,
      );
      audience = { segmentIds: [createSegment.id] };
    }
    const { createOperation } = await gql<{ createOperation: { id: string } }>(
      c1,
      'mutation ($input: CreateOperationInput!) { createOperation(input: $input) { id } }',
      { input: { kind: 'EMAILING', name, audience, email: content } },
      token,
    );
    const id = createOperation.id;
    if (validate)
      for (const step of ['submitOperation', 'validateOperation'])
        await gql(c1, `mutation ($id: ID!) { ${step}(id: $id) { id } }`, { id }, token);
    return id;
  };
  const big = await operation('Spring (segment)', 'FR', true);
  const small = await operation('Spring (a tenth)', 'BE', true);
  const whole = await operation('Spring (everyone)', null, false);
  await c1.stop();

  // The baseline's message: ours for the first contact of the segment, rendered once.
  const [stored] = await q<{ content: EmailContent }>('select content from operation where id = $1', [big]);
  const [first] = await q<{ id: string }>(
    `select id::text from contact where account_id = $1 and country = 'FR' order by id limit 1`,
    [accountId],
  );
  const config = loadConfig({ TRACKING_SECRET: SECRET, PUBLIC_URL });
  const key = await trackingKey(config, () => {});
  const data = (await mergeDataOfMany(pool, accountId, [first.id])).get(first.id);
  const rendered = compileOperationMessage('EMAILING', stored.content)(data!);
  if (rendered.kind !== 'EMAILING') throw new Error('not an email');
  const d = decorate(linkSigner(config, key, accountId, big), first.id, {
    html: rendered.email.html,
    text: rendered.email.text,
  });
  const message: PreRendered = {
    from: FROM,
    to: 'baseline@sink.test',
    subject: rendered.email.subject,
    html: d.html,
    text: d.text,
    headers: { ...d.headers, 'X-Cible-Operation': big },
  };

  const baseline = async (n: number) => {
    await sink.reset();
    log(`baseline: nodemailer's pool, ${CONNECTIONS} connections, ${fmt(n)} copies`);
    const c0 = await cpu(null);
    const seconds = await nodemailerPool(sink.url, CONNECTIONS, n, message);
    const ms = perMessage(c0, await cpu(null), n);
    const seen = await sink.seen();
    if (seen.total !== n || seen.counts.get(message.to) !== n)
      fail(`baseline: ${seen.total} messages at the sink for ${n} sent`);
    return { seconds, cpu: ms };
  };

  /** Schedules `id` now on a fresh server; waits for SENT and checks the sink, recipient by recipient. */
  const ours = async (id: string, country: string) => {
    const expected = await q<{ email: string }>(
      'select email from contact where account_id = $1 and country = $2',
      [accountId, country],
    );
    const c = await server();
    const idle = (await c.rss()).now;
    await sink.reset();
    log(`ours: ${fmt(expected.length)} recipients`);
    const stopSampling = sampleMax(async () => (await c.rss()).now);
    const c0 = await cpu(c.pid);
    const t = Date.now();
    await gql(c, 'mutation ($id: ID!) { scheduleOperation(id: $id, now: true) { id } }', { id }, token);
    const deadline = Date.now() + Math.max(120_000, expected.length * 20);
    for (;;) {
      const [{ status }] = await q<{ status: string }>('select status from operation where id = $1', [id]);
      if (status === 'SENT' || status === 'FAILED') break;
      if (Date.now() > deadline)
        throw new Error(`operation still ${status}, ${(await sink.seen()).total} at the sink`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const used = perMessage(c0, await cpu(c.pid), expected.length);
    const peak = await stopSampling();
    const hwm = (await c.rss()).peak;
    await c.stop();
    const seen = await sink.seen();
    const [send] = await q<{ sent: number; recipients: number; status: string }>(
      `select s.sent, s.recipients, o.status from operation_send s join operation o on o.id = s.operation_id
        where s.operation_id = $1`,
      [id],
    );
    if (send.status !== 'SENT') fail(`operation ended ${send.status}`);
    if (send.recipients !== expected.length || send.sent !== expected.length)
      fail(`frozen ${send.recipients}, sent ${send.sent}, for ${expected.length} contacts in the segment`);
    const notOnce = expected.filter((e) => seen.counts.get(e.email) !== 1).length;
    const strangers = seen.total - expected.length;
    log(`recipients not reached exactly once: ${notOnce}; other messages at the sink: ${strangers}`);
    if (notOnce || strangers) fail(`${notOnce} recipients not reached exactly once, ${strangers} others`);
    return {
      n: expected.length,
      seconds: (seen.last - t) / 1000,
      steady: (seen.total - 1) / ((seen.last - seen.first) / 1000),
      idle,
      peak,
      hwm,
      cpu: used,
    };
  };

  const sends =
    ONLY === 'freeze'
      ? null
      : await (async () => {
          const base1 = await baseline(AUDIENCE);
          const run = await ours(big, 'FR');
          const base2 = await baseline(AUDIENCE);
          const tenth = await ours(small, 'BE');
          return { base1, run, base2, tenth };
        })();

  log(`freeze: an Emailing to all ${fmt(N)} contacts (rolled back)`);
  const orm = await openOrm(databaseUrl);
  let freezeMs = 0;
  try {
    await orm.em
      .fork()
      .transactional(async (em) => {
        const op = await findOperation(em, accountId, whole, true);
        const t = performance.now();
        const frozen = await freezeAudience(em, op);
        freezeMs = performance.now() - t;
        if (frozen.recipients !== N) fail(`freeze wrote ${frozen.recipients} recipients for ${N} contacts`);
        throw new Rollback();
      })
      .catch((err) => {
        if (!(err instanceof Rollback)) throw err;
      });
    if (EXPLAIN) await explainFreeze(orm, accountId, whole);
  } finally {
    await orm.close();
  }

  if (!sends) {
    table(
      ['freeze', 'recipients', 'seconds', 'target'],
      [['freezeAudience, whole account', fmt(N), (freezeMs / 1000).toFixed(2), '<= 5 s']],
    );
  } else {
    const { base1, run, base2, tenth } = sends;
    const best = base1.seconds <= base2.seconds ? base1 : base2;
    const baseSeconds = best.seconds;
    const rate = run.n / run.seconds;
    const baseRate = AUDIENCE / baseSeconds;
    console.log(
      `\nSending bench: ${fmt(N)} contacts, a ${fmt(run.n)}-recipient segment, ${CONNECTIONS} pooled SMTP ` +
        `connections to a discarding smtp-server; ours timed from scheduleOperation to the last message at the sink.\n`,
    );
    table(
      ['send', 'messages', 'seconds', 'messages/s', 'baseline messages/s', 'ratio (target >= 0.8)'],
      [
        [
          'ours (API, engine, tracking)',
          fmt(run.n),
          run.seconds.toFixed(1),
          fmt(rate),
          `${fmt(baseRate)} (nodemailer pool; runs ${fmt(AUDIENCE / base1.seconds)}, ${fmt(AUDIENCE / base2.seconds)})`,
          (rate / baseRate).toFixed(2),
        ],
      ],
    );
    console.log(
      `\n(ours between the first and the last message: ${fmt(run.steady)} messages/s; the schedule waits for a dispatcher tick, 1 s here)\n`,
    );
    const cpuRow = (name: string, c: Cpu) => [
      name,
      c.sender.toFixed(2),
      c.sink.toFixed(2),
      c.pg.toFixed(2),
      (c.sender + c.sink + c.pg).toFixed(2),
    ];
    table(
      ['CPU ms per message', 'sender process', 'sink', 'PostgreSQL', 'all'],
      [cpuRow('ours (server process)', run.cpu), cpuRow('baseline (nodemailer, faster run)', best.cpu)],
    );
    console.log('');
    table(
      ['freeze', 'recipients', 'seconds', 'target'],
      [['freezeAudience, whole account', fmt(N), (freezeMs / 1000).toFixed(2), '<= 5 s']],
    );
    console.log('');
    table(
      [
        'server RSS, MiB',
        'recipients',
        'before the send',
        'peak during the send (sampled)',
        'growth',
        'VmHWM',
      ],
      [tenth, run].map((r) => [
        'one send, fresh process',
        fmt(r.n),
        mib(r.idle),
        mib(r.peak),
        mib(r.peak - r.idle),
        mib(r.hwm),
      ]),
    );
  }
  console.log('');
  log(`failures: ${failures}`);
  if (failures) process.exitCode = 1;
} finally {
  for (const c of children) await c.stop();
  await pool.end();
  await sink.close();
  await db.stop();
  await rm(dir, { recursive: true, force: true });
}

/** The freeze's statement under EXPLAIN ANALYZE, printed, rolled back (a dev tool: --explain). */
async function explainFreeze(orm: Awaited<ReturnType<typeof openOrm>>, accountId: string, id: string) {
  await orm.em
    .fork()
    .transactional(async (em) => {
      const op = await findOperation(em, accountId, id, true);
      const execute = em.execute.bind(em);
      (em as { execute: unknown }).execute = async (
        sql: string,
        params?: unknown[],
        method?: 'all' | 'get' | 'run',
      ) => {
        if (!/insert into operation_recipient/.test(sql)) return execute(sql, params, method);
        const plan = await execute<{ 'QUERY PLAN': string }[]>(
          `explain (analyze, buffers) ${sql}`,
          params,
          'all',
        );
        console.log(plan.map((r) => r['QUERY PLAN']).join('\n'));
        throw new Rollback();
      };
      await freezeAudience(em, op);
    })
    .catch((err) => {
      if (!(err instanceof Rollback)) throw err;
    });
}
