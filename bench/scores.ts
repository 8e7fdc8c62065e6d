/**
 * `npm run bench:scores [-- --contacts 1000000]`: lead-score computation at real size.
 * Generates N contacts and 20 x N events over 90 days in one account (in SQL), defines a score with
 * four conditions (FIXED on a text field, FIXED with a negative value, FIELD_VALUE x 0.01,
 * FIXED_PER_EVENT on opens and clicks) through the API, then times (median of three) the first
 * full run, a rerun with nothing new and an incremental run after 100,000 new events, each against
 * hand-written reference SQL for the same step on the same data in the same process (run in a
 * transaction that is rolled back, so both see the same data), and two JavaScript baselines.
 */
import type { Readable } from 'node:stream';
import { to as copyTo } from 'pg-copy-streams';
import { startScoreRun } from '../src/modules/scores/score.runner.js';
import { runnerDeps } from '../src/modules/scores/score.service.js';
import { generateContactsAndEvents, log } from './generate.js';
import { arg, fmt, signUp, startBench, table } from './lib.js';

const N = Number(arg('contacts', '1000000'));
const EVENTS = 20 * N;
const NEW_EVENTS = Math.min(100_000, Math.max(1000, Math.round(N / 10)));
const SAMPLE = Math.min(2000, N);
const REPEAT = 3;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const secs = (ms: number) => (ms / 1000).toFixed(2);

const b = await startBench();
try {
  const { token, accountId } = await signUp(b, 'Scores');
  const q = (sql: string, params: unknown[] = []) => b.pool.query(sql, params);
  const { lo } = await generateContactsAndEvents(b, token, accountId, N);

  const created = await b.gql<{ createScore: { id: string } }>(
    `mutation ($input: CreateScoreInput!) { createScore(input: $input) { id } }`,
    {
      input: {
        name: 'Bench',
        conditions: [
          { criterion: { field: { name: 'country', op: 'EQ', value: 'FR' } }, mode: 'FIXED', value: '10' },
          {
            criterion: { field: { name: 'segment', op: 'EQ', value: 'inactive' } },
            mode: 'FIXED',
            value: '-15',
          },
          {
            criterion: { field: { name: 'revenue', op: 'IS_SET' } },
            mode: 'FIELD_VALUE',
            coefficient: '0.01',
          },
          {
            criterion: { any: [{ event: { type: 'EMAIL_OPEN' } }, { event: { type: 'EMAIL_CLICK' } }] },
            mode: 'FIXED_PER_EVENT',
            value: '1',
          },
        ],
      },
    },
    token,
  );
  const scoreId = created.createScore.id;
  const deps = runnerDeps(b.app.services);
  const watermark = async () =>
    String((await q('select coalesce(max(id), 0) as w from contact_event')).rows[0].w);
  const stored = async () =>
    String(
      (
        await q('select coalesce(event_watermark, 0) as w from score_state where account_id = $1', [
          accountId,
        ])
      ).rows[0]?.w ?? '0',
    );

  /** Our computation through the real runner: wall time to commit, and rows written. */
  async function ours(): Promise<{ ms: number; rows: number }> {
    const start = performance.now();
    const { done } = await startScoreRun(deps, accountId, null, 'MANUAL');
    const run = await done;
    if (run.status !== 'DONE') throw new Error(run.error ?? 'run failed');
    return { ms: performance.now() - start, rows: run.contactsChanged };
  }

  /**
   * Reference SQL in a transaction with the run's settings. `commit`: timed up to its commit, like
   * ours (the full run, whose table is truncated before each attempt anyway); otherwise rolled back
   * so the data stays put for our run (rerun, incremental), which then pays a commit the reference
   * does not.
   */
  async function reference(
    sql: string,
    params: unknown[],
    commit = false,
  ): Promise<{ ms: number; rows: number }> {
    const c = await b.pool.connect();
    try {
      const start = performance.now();
      await c.query('begin');
      await c.query(`set local work_mem = '256MB'`);
      await c.query('set local jit = off');
      await c.query('lock table contact_event in share mode');
      const r = await c.query(sql, params);
      if (commit) await c.query('commit');
      const ms = performance.now() - start;
      if (!commit) await c.query('rollback');
      return { ms, rows: r.rowCount ?? 0 };
    } finally {
      c.release();
    }
  }

  const STATE = `(case when c.country = 'FR' then 10 else 0 end)
               + (case when c.fields->>'segment' = 'inactive' then -15 else 0 end)
               + coalesce((c.fields->>'revenue')::numeric, 0) * 0.01`;
  const REF_FULL = `insert into contact_score (score_id, contact_id, account_id, state_value, event_value, value)
    select $2, x.id, $1, x.s, x.e, x.s + x.e
      from (select c.id, ${STATE} as s, coalesce(e.n, 0)::numeric as e
              from contact c
              left join (select contact_id, count(*) as n from contact_event
                          where account_id = $1 and type in (0, 1) and id <= $3 group by contact_id) e
                on e.contact_id = c.id
             where c.account_id = $1) x
     where x.s <> 0 or x.e <> 0`;
  // The best hand-written first run: the per-contact activity the triggers keep (contact_activity,
  // counts[type + 1]), less the events above the watermark, which the statement may already see.
  const REF_FULL_ACTIVITY = `insert into contact_score (score_id, contact_id, account_id, state_value, event_value, value)
    select $2, x.id, $1, x.s, x.e, x.s + x.e
      from (select c.id, ${STATE} as s, coalesce(a.n, 0)::numeric as e
              from contact c
              left join (select a.contact_id, coalesce(a.counts[1], 0) + coalesce(a.counts[2], 0) - coalesce(l.n, 0) as n
                           from contact_activity a
                           left join (select contact_id, count(*) as n from contact_event
                                       where account_id = $1 and type in (0, 1) and id > $3 group by contact_id) l
                             on l.contact_id = a.contact_id
                          where a.account_id = $1) a
                on a.contact_id = c.id
             where c.account_id = $1 offset 0) x
     where x.s <> 0 or x.e <> 0`;
  const REF_INCREMENTAL = `with ev as (select contact_id, count(*) as n from contact_event
                  where account_id = $1 and type in (0, 1) and id > $3 and id <= $4 group by contact_id)
    insert into contact_score as t (score_id, contact_id, account_id, state_value, event_value, value)
    select $2, x.id, $1, x.s, x.e, x.s + x.e
      from (select c.id, ${STATE} as s, coalesce(o.event_value, 0) + coalesce(ev.n, 0) as e,
                   o.state_value as os, o.event_value as oe
              from contact c left join ev on ev.contact_id = c.id
              left join contact_score o on o.score_id = $2 and o.contact_id = c.id
             where c.account_id = $1) x
     where (x.s, x.e) is distinct from (x.os, x.oe) and (x.os is not null or x.s <> 0 or x.e <> 0)
    on conflict (score_id, contact_id) do update
      set state_value = excluded.state_value, event_value = excluded.event_value, value = excluded.value`;
  const REF_EVENTS_ONLY = `insert into contact_score as t (score_id, contact_id, account_id, state_value, event_value, value)
    select $2, contact_id, $1, 0, count(*), count(*) from contact_event
     where account_id = $1 and type in (0, 1) and id > $3 and id <= $4 group by contact_id
    on conflict (score_id, contact_id) do update
      set event_value = t.event_value + excluded.event_value, value = t.value + excluded.value`;

  async function reset() {
    await q('truncate contact_score');
    await q('delete from score_state where account_id = $1', [accountId]);
    await q('update score set last_run_at = null where id = $1', [scoreId]);
    await q('vacuum analyze contact_score');
  }

  const rows: (string | number)[][] = [];
  const step = async (
    name: string,
    before: () => Promise<void>,
    runOurs: () => Promise<{ ms: number; rows: number }>,
    runRef: () => Promise<{ ms: number; rows: number }>,
  ) => {
    const o: number[] = [];
    const r: number[] = [];
    let written = 0;
    let refWritten = 0;
    for (let i = 0; i < REPEAT; i++) {
      await before();
      const ref = await runRef();
      r.push(ref.ms);
      refWritten = ref.rows;
      const mine = await runOurs();
      o.push(mine.ms);
      written = mine.rows;
      log(
        `${name} #${i + 1}: ours ${secs(mine.ms)} s (${fmt(mine.rows)} rows), reference ${secs(ref.ms)} s (${fmt(ref.rows)} rows)`,
      );
    }
    rows.push([
      name,
      secs(median(o)),
      secs(median(r)),
      (median(o) / median(r)).toFixed(2),
      fmt(written),
      fmt(refWritten),
    ]);
    return median(o);
  };

  if (process.env.BENCH_EXPLAIN) {
    const c = await b.pool.connect();
    await c.query('begin');
    await c.query(`set local work_mem = '256MB'`);
    await c.query('set local jit = off');
    const plan = await c.query(`explain (analyze, buffers) ${REF_FULL}`, [
      accountId,
      scoreId,
      await watermark(),
    ]);
    console.error(plan.rows.map((r) => r['QUERY PLAN']).join('\n'));
    await c.query('rollback');
    // The same with the planner pushed to the contact-order index (no hash aggregate).
    await c.query('begin');
    await c.query(`set local work_mem = '256MB'`);
    await c.query('set local jit = off');
    await c.query('set local enable_hashagg = off');
    await c.query('set local enable_sort = off');
    const ordered = await c.query(`explain (analyze, buffers) ${REF_FULL}`, [
      accountId,
      scoreId,
      await watermark(),
    ]);
    console.error(ordered.rows.map((r) => r['QUERY PLAN']).join('\n'));
    await c.query('rollback');
    c.release();
  }
  log('first full run');
  const fullMs = await step('first full run', reset, ours, async () => {
    const r = await reference(REF_FULL_ACTIVITY, [accountId, scoreId, await watermark()], true);
    await reset(); // the reference committed: ours starts from an empty table too
    return r;
  });
  // For information: the same first run aggregating the 20 million events (no activity table).
  const fullFromEvents: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    await reset();
    fullFromEvents.push((await reference(REF_FULL, [accountId, scoreId, await watermark()], true)).ms);
  }
  // Leave the table as a real first run left it.
  await reset();
  await ours();
  // Our values must be exactly the reference's (checked at full size, not only in the tests).
  const mismatches = Number(
    (
      await q(
        `with r as (select c.id, ${STATE} as s, coalesce(e.n, 0) as e
                      from contact c
                      left join (select contact_id, count(*) as n from contact_event
                                  where account_id = $1 and type in (0, 1) and id <= $3 group by contact_id) e
                        on e.contact_id = c.id
                     where c.account_id = $1)
         select count(*) as n
           from r full join (select contact_id, value from contact_score where score_id = $2) o
             on o.contact_id = r.id
          where (o.contact_id is null and r.s + r.e <> 0)
             or (o.contact_id is not null and (r.id is null or r.s + r.e <> o.value))`,
        [accountId, scoreId, await watermark()],
      )
    ).rows[0].n,
  );
  log(`values differing from the reference: ${mismatches}`);
  if (mismatches !== 0) throw new Error(`${mismatches} contact scores differ from the reference SQL`);
  await q('vacuum analyze contact_score');

  log('rerun with nothing new');
  await step(
    'rerun, nothing new',
    async () => {},
    ours,
    async () => reference(REF_INCREMENTAL, [accountId, scoreId, await stored(), await watermark()]),
  );

  log(`incremental run after ${fmt(NEW_EVENTS)} new events`);
  const addEvents = async () => {
    await q(
      `insert into contact_event (account_id, contact_id, type, occurred_at)
       select $1, $2::bigint + floor($3::int * power(random(), 2.2))::bigint,
              (case when random() < 0.7 then 0 else 1 end)::smallint, now()
         from generate_series(1, $4::int)`,
      [accountId, lo, N, NEW_EVENTS],
    );
  };
  await step('incremental run', addEvents, ours, async () =>
    reference(REF_INCREMENTAL, [accountId, scoreId, await stored(), await watermark()]),
  );
  // For information: the event part alone, the shape PERF-NOTES measured (no state recompute).
  const evOnly: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    await addEvents();
    evOnly.push(
      (await reference(REF_EVENTS_ONLY, [accountId, scoreId, await stored(), await watermark()])).ms,
    );
  }
  await ours();

  // JavaScript baseline 1: one query per contact (read, then write), on a sample, extrapolated.
  log(`JS: one query per contact on ${fmt(SAMPLE)} contacts`);
  const perContact: number[] = [];
  const sampleIds = (
    await q('select id::text from contact where account_id = $1 order by random() limit $2', [
      accountId,
      SAMPLE,
    ])
  ).rows.map((r) => r.id as string);
  for (let i = 0; i < REPEAT; i++) {
    const c = await b.pool.connect();
    try {
      const start = performance.now();
      await c.query('begin');
      for (const id of sampleIds) {
        const { rows: r } = await c.query(
          `select c.country, c.fields, (select count(*) from contact_event e
              where e.account_id = c.account_id and e.contact_id = c.id and e.type in (0, 1))::int as n
             from contact c where c.id = $1`,
          [id],
        );
        const value = jsScore(r[0].country, r[0].fields, r[0].n);
        await c.query(
          `insert into contact_score (score_id, contact_id, account_id, state_value, event_value, value)
           values ($1, $2, $3, 0, 0, $4) on conflict (score_id, contact_id) do update set value = excluded.value`,
          [scoreId, id, accountId, value],
        );
      }
      perContact.push(((performance.now() - start) * N) / SAMPLE);
      await c.query('rollback');
    } finally {
      c.release();
    }
  }

  // JavaScript baseline 2: stream contacts and the events once, compute in JS, write in batches.
  log('JS: batched streaming loop');
  const batched: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const c = await b.pool.connect();
    try {
      const start = performance.now();
      await c.query('begin');
      await c.query('truncate contact_score');
      const counts = new Map<number, number>();
      for await (const line of lines(
        c.query(
          copyTo(
            `copy (select contact_id from contact_event where account_id = '${accountId}' and type in (0, 1)) to stdout`,
          ),
        ),
      )) {
        const id = Number(line);
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      // The COPY holds the connection until it ends: compute while streaming, write after.
      const ids: string[] = [];
      const values: string[] = [];
      for await (const line of lines(
        c.query(
          copyTo(
            `copy (select id, coalesce(country, ''), fields::text from contact where account_id = '${accountId}') to stdout`,
          ),
        ),
      )) {
        const [id, country, fields] = line.split('\t');
        const value = jsScore(
          country,
          JSON.parse(fields.replace(/\\\\/g, '\\')),
          counts.get(Number(id)) ?? 0,
        );
        if (value !== '0') {
          ids.push(id);
          values.push(value);
        }
      }
      for (let k = 0; k < ids.length; k += 10_000) {
        await c.query(
          `insert into contact_score (score_id, contact_id, account_id, state_value, event_value, value)
           select $1, x.id, $2, 0, 0, x.v from unnest($3::bigint[], $4::numeric[]) as x(id, v)`,
          [scoreId, accountId, ids.slice(k, k + 10_000), values.slice(k, k + 10_000)],
        );
      }
      batched.push(performance.now() - start);
      await c.query('rollback');
    } finally {
      c.release();
    }
  }

  rows.push([
    'first full run aggregating the events (info: reference without contact_activity)',
    '',
    secs(median(fullFromEvents)),
    '',
    '',
    '',
  ]);
  rows.push(['event part alone (info, PERF-NOTES shape)', '', secs(median(evOnly)), '', '', '']);
  console.log(
    `\nScores bench: ${fmt(N)} contacts, ${fmt(EVENTS)} events over 90 days, 4 conditions; median of ${REPEAT} (seconds).\n`,
  );
  table(['step', 'ours', 'reference SQL', 'ratio', 'rows written (ours)', 'rows written (ref)'], rows);
  console.log('');
  table(
    ['JavaScript baseline', 'seconds', 'ratio to our full run'],
    [
      [
        `one query per contact (${fmt(SAMPLE)} sampled, extrapolated)`,
        secs(median(perContact)),
        (median(perContact) / fullMs).toFixed(1),
      ],
      [
        'batched loop streaming the events once',
        secs(median(batched)),
        (median(batched) / fullMs).toFixed(1),
      ],
    ],
  );
} finally {
  await b.close();
}

/** The four conditions in JS, exact (BigInt in millionths): what a hand-written loop would do. */
function jsScore(country: string | null, fields: Record<string, string>, events: number): string {
  let v = 0n;
  if (country === 'FR') v += 10_000_000n;
  if (fields.segment === 'inactive') v -= 15_000_000n;
  if (fields.revenue != null) {
    const [i, f = ''] = fields.revenue.replace('-', '').split('.');
    const cents = BigInt(i) * 1_000_000n + BigInt(`${f}000000`.slice(0, 6));
    v += ((fields.revenue.startsWith('-') ? -cents : cents) * 10_000n) / 1_000_000n;
  }
  v += BigInt(events) * 1_000_000n;
  const neg = v < 0n;
  const a = neg ? -v : v;
  const frac = (a % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${a / 1_000_000n}${frac ? `.${frac}` : ''}`;
}

async function* lines(stream: Readable | NodeJS.ReadableStream): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of stream as Readable) {
    const text = rest + String(chunk);
    const parts = text.split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) yield p;
  }
  if (rest) yield rest;
}
