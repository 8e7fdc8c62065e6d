/**
 * `npm run bench:operation-stats [-- --recipients 1000000] [--runs 20] [--ingest 200000]`: the
 * statistics of one Emailing of a million recipients, and what keeping them costs at ingest.
 *
 * Data (SQL, through the real triggers): N contacts, one Emailing created through the API, and its
 * events: one EMAIL_SENT per contact, opens for 40% of them (1 to 3 each; the first of 45% of them
 * machine-made, as Apple Mail Privacy Protection's prefetch), clicks for 8% (1 or 2, over 12 links;
 * 15% machine-made), unsubscribes for 0.5% and bounces for 2%: about 2 x N events, loaded in
 * 250,000-row statements. Plus 3 x N events of no operation (other activity of the account).
 *
 * Read: `operation(id) { stats { ... } }` over HTTP, `runs` times (p50, p95), against the best
 * plain SQL that recounts the raw events (RECOUNT_SQL: one statement, no aggregate table), run
 * both as the schema stands (no index on operation_id: ingest pays for none) and with a partial
 * index on (account_id, operation_id) built for it; the fastest is the baseline. Both must give
 * the same stats, or the bench exits non-zero.
 *
 * Ingest: `ingest` events inserted in statements of 1,000 rows (recordEvents' batches are up to
 * 10,000), with the two statistics triggers on and then off, for events carrying an operation id
 * and for events carrying none. Rounds alternate so that table growth and caches favour neither.
 */
import { randomUUID } from 'node:crypto';
import { foldStats, RECOUNT_SQL } from '../src/modules/operations/operation.stats.js';
import { log } from './generate.js';
import { arg, fmt, ms, quantile, signUp, startBench, table, timeRuns } from './lib.js';

const N = Number(arg('recipients', '1000000'));
const RUNS = Number(arg('runs', '20'));
const INGEST = Number(arg('ingest', '200000'));
const BATCH = 1000;
const ROUNDS = 3;
const LINKS = 12;
const TRIGGERS = ['contact_event_operation_stat_insert', 'contact_event_operation_stat_delete'];

const STATS = `query ($id: ID!) { operation(id: $id) { stats {
  id sent opens { total unique } clicks { total unique } machineOpens { total unique }
  machineClicks { total unique } openRate clickRate links
  clicksPerLink { url total unique } unsubscribes bounces } } }`;

const b = await startBench();
let failures = 0;
try {
  const q = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
    b.pool.query(sql, params).then((r) => r.rows as T[]);
  const { token, accountId } = await signUp(b, 'Stats');
  await q(
    `insert into sender (account_id, email, status, verified_at) values ($1, 'news@bench.test', 'VERIFIED', now())`,
    [accountId],
  );
  const { createOperation } = await b.gql<{ createOperation: { id: string } }>(
    'mutation ($input: CreateOperationInput!) { createOperation(input: $input) { id } }',
    {
      input: {
        kind: 'EMAILING',
        name: 'A million',
        audience: { allContacts: true },
        email: { subject: 'Hello', fromEmail: 'news@bench.test', html: '<p>Hi</p>' },
      },
    },
    token,
  );
  const opId = createOperation.id;

  log(`generating ${fmt(N)} contacts`);
  await q(
    `insert into contact (account_id, email, unique_value)
     select $1, 'c' || g || '@bench.test', 'c' || g || '@bench.test' from generate_series(1, $2::int) g`,
    [accountId, N],
  );
  const lo = Number(
    (await q<{ lo: string }>('select min(id) as lo from contact where account_id = $1', [accountId]))[0].lo,
  );
  // One statement per slice of contacts: g is the contact's rank, k its k-th event of the type.
  const CHUNK = 250_000;
  const load = async (label: string, select: string) => {
    const t0 = performance.now();
    let rows = 0;
    for (let from = 0; from < N; from += CHUNK) {
      const r = await b.pool.query(
        `insert into contact_event (account_id, contact_id, type, occurred_at, operation_id, url, machine)
         select $1, $2::bigint + g, x.type, now() - interval '1 day' + (g % 86400) * interval '1 second', x.op, x.url, x.machine
           from generate_series($3::int, least($3::int + ${CHUNK - 1}, $4::int - 1)) g
           cross join lateral (${select}) x(type, op, url, machine)`,
        [accountId, lo, from, N, opId],
      );
      rows += r.rowCount ?? 0;
    }
    const s = (performance.now() - t0) / 1000;
    log(`  ${label}: ${fmt(rows)} events in ${s.toFixed(1)} s (${fmt(rows / s)}/s)`);
    return rows;
  };
  log("loading the operation's events through the triggers");
  // Deterministic per contact (hashes of g), so a rerun gives the same figures.
  const h = (salt: number) => `((g::bigint * ${7919 + salt * 104729}) % 1000)`;
  let opEvents = 0;
  opEvents += await load('sent', `select 7::smallint as type, $5::uuid as op, null::text as url, false`);
  opEvents += await load(
    'opens',
    `select 0::smallint, $5::uuid, null::text, k = 1 and ${h(5)} < 450
       from generate_series(1, 1 + (g % 3)) k where ${h(1)} < 400`,
  );
  opEvents += await load(
    'clicks',
    `select 1::smallint, $5::uuid, 'https://shop.example/p/' || ((g + k) % ${LINKS}) || '?utm_source=cible', ${h(6)} < 150
       from generate_series(1, 1 + (g % 2)) k where ${h(2)} < 80`,
  );
  opEvents += await load('unsubscribes', `select 6::smallint, $5::uuid, null::text, false where ${h(3)} < 5`);
  opEvents += await load('bounces', `select 9::smallint, $5::uuid, null::text, false where ${h(4)} < 20`);
  await load(
    'other activity (no operation)',
    `select (k % 5)::smallint, nullif($5::uuid, $5::uuid), null::text, false from generate_series(1, 3) k`,
  );
  for (const t of ['contact', 'contact_event', 'operation_stat', 'operation_contact_stat'])
    await q(`vacuum analyze ${t}`);

  // Same stats: the API's against the recount's.
  type Api = { operation: { stats: Record<string, unknown> } };
  const api = (await b.gql<Api>(STATS, { id: opId }, token)).operation.stats;
  const recount = await q<Parameters<typeof foldStats>[2][number]>(RECOUNT_SQL, [accountId, opId]);
  const expected = foldStats(opId, 'EMAILING', recount);
  const want = {
    id: opId,
    sent: expected.sent,
    opens: expected.opens,
    clicks: expected.clicks,
    machineOpens: expected.machineOpens,
    machineClicks: expected.machineClicks,
    openRate: expected.openRate,
    clickRate: expected.clickRate,
    links: expected.links,
    clicksPerLink: expected.clicksPerLink,
    unsubscribes: expected.unsubscribes,
    bounces: expected.bounces,
  };
  if (JSON.stringify(api) !== JSON.stringify(want)) {
    failures++;
    log(`MISMATCH: API ${JSON.stringify(api)}\n  recount ${JSON.stringify(want)}`);
  }

  log(`timing the API, ${RUNS} runs`);
  const ours = await timeRuns(() => b.gql(STATS, { id: opId }, token), RUNS);
  log('timing the recount as the schema stands (no index on operation_id)');
  const plainRuns = Math.min(RUNS, 5);
  const plain = await timeRuns(() => q(RECOUNT_SQL, [accountId, opId]), plainRuns);
  log('building a partial index on (account_id, operation_id) for the recount');
  await q(
    'create index bench_event_operation on contact_event (account_id, operation_id) where operation_id is not null',
  );
  await q('analyze contact_event');
  const indexed = await timeRuns(() => q(RECOUNT_SQL, [accountId, opId]), RUNS);
  await q('drop index bench_event_operation');
  const [best, bestName] =
    quantile(indexed, 0.5) <= quantile(plain, 0.5)
      ? [indexed, 'recount, partial index on operation_id']
      : [plain, 'recount, no extra index'];

  // Ingest: events/s with the triggers on and off, with and without an operation id.
  log(`ingest: ${fmt(INGEST)} events per case in ${BATCH}-row statements, ${ROUNDS} rounds`);
  const contacts = Math.min(N, 100_000);
  const ingest = async (withOp: boolean) => {
    const op = withOp ? randomUUID() : null;
    const t0 = performance.now();
    for (let from = 0; from < INGEST; from += BATCH)
      await b.pool.query(
        `insert into contact_event (account_id, contact_id, type, occurred_at, operation_id, url)
         select $1, $2::bigint + (g * 7919) % $5::int, (case when g % 4 = 0 then 1 else 0 end)::smallint, now(), $4::uuid,
                case when g % 4 = 0 then 'https://shop.example/i/' || (g % 7) end
           from generate_series($3::int, $3::int + ${BATCH - 1}) g`,
        [accountId, lo, from, op, contacts],
      );
    return INGEST / ((performance.now() - t0) / 1000);
  };
  const setTriggers = async (on: boolean) => {
    for (const t of TRIGGERS) await q(`alter table contact_event ${on ? 'enable' : 'disable'} trigger ${t}`);
  };
  const rates: Record<string, number[]> = { 'op/on': [], 'op/off': [], 'none/on': [], 'none/off': [] };
  try {
    for (let r = 0; r < ROUNDS; r++)
      for (const on of r % 2 ? [false, true] : [true, false]) {
        await setTriggers(on);
        for (const withOp of [true, false])
          rates[`${withOp ? 'op' : 'none'}/${on ? 'on' : 'off'}`].push(await ingest(withOp));
      }
  } finally {
    await setTriggers(true);
  }
  const med = (k: string) => quantile(rates[k], 0.5);

  const p = (xs: number[]) => `${ms(quantile(xs, 0.5))} / ${ms(quantile(xs, 0.95))}`;
  const [{ events }] = await q<{ events: string }>('select count(*) as events from contact_event');
  const [{ keys }] = await q<{ keys: string }>(
    'select count(*) as keys from operation_contact_stat where operation_id = $1',
    [opId],
  );
  console.log(
    `\nOperation stats bench: ${fmt(N)} recipients, ${fmt(opEvents)} events of the operation ` +
      `(${fmt(Number(keys))} first-seen rows), ${fmt(Number(events))} events in all; p50 / p95 over ${RUNS} runs, ms.\n`,
  );
  table(
    ['read', 'ours (HTTP, aggregates)', 'best raw SQL', 'baseline', 'ratio'],
    [['Operation.stats', p(ours), p(best), bestName, (quantile(ours, 0.5) / quantile(best, 0.5)).toFixed(4)]],
  );
  console.log(
    `\n(recount without the extra index: p50 ${ms(quantile(plain, 0.5))} ms over ${plainRuns} runs)\n`,
  );
  table(
    ['ingest, events/s', 'triggers on', 'triggers off (baseline)', 'ratio on/off'],
    [
      [
        'events of an operation',
        fmt(med('op/on')),
        fmt(med('op/off')),
        (med('op/on') / med('op/off')).toFixed(2),
      ],
      [
        'events of no operation',
        fmt(med('none/on')),
        fmt(med('none/off')),
        (med('none/on') / med('none/off')).toFixed(2),
      ],
    ],
  );
  console.log('');
  log(`stats differing from the recount: ${failures}`);
  if (failures) process.exitCode = 1;
} finally {
  await b.close();
}
