/**
 * `npm run bench:segments [-- --contacts 1000000] [--runs 20]`: segment counts and first pages at
 * real size. Generates the scores bench's data set (N contacts, 20 x N events over 90 days), runs
 * a lead score through the real runner, saves five segments through the API (field only; field +
 * score; clicked twice in 30 days; PERF-NOTES' compound one; a nested all/any/not over two other
 * segments), then for each measures over `runs` runs (p50, p95):
 * - ours: `segment(id) { count }` and `segment(id) { contacts(first: 50) { nodes { id } } }` over
 *   HTTP, through the same resolvers, statement timeout and read pool as any client;
 * - the best hand-written SQL over the raw tables (contact, contact_event, contact_score; not the
 *   aggregates we maintain) among the usual shapes: set-based `IN` subqueries, per-contact probes,
 *   and for event counts a GROUP BY over the window. Every candidate is timed; the table shows the
 *   fastest.
 * It checks that both give the same contacts: the count, the first page's ids, and the whole
 * member set (count, sum and xor of the ids) of our compiled statement against the reference.
 * Exits non-zero on any difference.
 */

import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startScoreRun } from '../src/modules/scores/score.runner.js';
import { runnerDeps } from '../src/modules/scores/score.service.js';
import { matchSql } from '../src/modules/targeting/audience.js';
import { Params } from '../src/modules/targeting/criterion.compile.js';
import { loadTargetEnv } from '../src/modules/targeting/target-env.js';
import { generateContactsAndEvents, log } from './generate.js';
import { arg, type BenchApp, fmt, ms, quantile, signUp, startBench, table, timeRuns } from './lib.js';

const N = Number(arg('contacts', '1000000'));
const RUNS = Number(arg('runs', '20'));
const PAGE = 50;

const KEEP = arg('keep', '');

interface Setup {
  token: string;
  accountId: string;
  scoreId: string;
  ids: { fr: string; frScore: string; clicked: string; compound: string; nested: string };
}

/** Data, score and segments; with `--keep <dir>`, made once and reused by later runs. */
async function setup(b: BenchApp): Promise<Setup> {
  const saved = KEEP && path.join(KEEP, 'segments-bench.json');
  if (saved && existsSync(saved)) {
    log(`reusing the data in ${KEEP}`);
    return JSON.parse(await readFile(saved, 'utf8')) as Setup;
  }
  const { token, accountId } = await signUp(b, 'Segments');
  const q = (sql: string) => b.pool.query(sql);
  await generateContactsAndEvents(b, token, accountId, N);

  // The scores bench's score: FR +10, revenue x 0.01, +1 per open or click.
  const { createScore } = await b.gql<{ createScore: { id: string } }>(
    `mutation ($input: CreateScoreInput!) { createScore(input: $input) { id } }`,
    {
      input: {
        name: 'Engagement',
        conditions: [
          { criterion: { field: { name: 'country', op: 'EQ', value: 'FR' } }, mode: 'FIXED', value: '10' },
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
  const scoreId = createScore.id;
  log('running the score');
  const run = await (await startScoreRun(runnerDeps(b.app.services), accountId, null, 'MANUAL')).done;
  if (run.status !== 'DONE') throw new Error(run.error ?? 'score run failed');
  await q('vacuum analyze contact_score');

  const create = async (name: string, criterion: unknown) =>
    (
      await b.gql<{ createSegment: { id: string } }>(
        'mutation ($input: CreateSegmentInput!) { createSegment(input: $input) { id } }',
        { input: { name, criterion } },
        token,
      )
    ).createSegment.id;
  const fr = { field: { name: 'country', op: 'EQ', value: 'FR' } };
  const clicked2 = { event: { type: 'EMAIL_CLICK', minCount: 2, withinDays: 30 } };
  const score = (op: string, value: string) => ({ score: { scoreId, op, value } });
  const revenue = (op: string, value: string) => ({ field: { name: 'revenue', op, value } });
  const idFr = await create('In France', fr);
  const idFrScore = await create('French and engaged', { all: [fr, score('GT', '20')] });
  const idClicked = await create('Clicked twice in 30 days', clicked2);
  const idCompound = await create('Compound', {
    any: [{ all: [fr, revenue('GT', '100'), clicked2] }, score('GT', '50')],
  });
  const idNested = await create('Nested', {
    all: [
      { segment: { segmentId: idFr } },
      { not: { segment: { segmentId: idClicked } } },
      { any: [revenue('GT', '500'), score('GT', '10')] },
    ],
  });

  const out: Setup = {
    token,
    accountId,
    scoreId,
    ids: { fr: idFr, frScore: idFrScore, clicked: idClicked, compound: idCompound, nested: idNested },
  };
  if (saved) await writeFile(saved, JSON.stringify(out));
  return out;
}

const b = await startBench(KEEP ? { dir: KEEP } : {});
let failures = 0;
try {
  const { token, accountId, scoreId, ids } = await setup(b);
  const q = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
    b.pool.query(sql, params).then((r) => r.rows as T[]);
  /** A reference statement: $1 the account, $2 the score when the text uses it. */
  const ref = <T = Record<string, unknown>>(sql: string) =>
    q<T>(sql, /\$2\b/.test(sql) ? [accountId, scoreId] : [accountId]);
  // The day bound "in the last 30 days" as the language defines it: midnight in the account's
  // time zone (Europe/Paris by default), 30 days before today.
  const SINCE = `((now() at time zone 'Europe/Paris')::date - 30)::timestamp at time zone 'Europe/Paris'`;
  const CLICKED_SET = `c.id in (select contact_id from contact_event where account_id = $1 and type = 1
      and occurred_at >= ${SINCE} group by contact_id having count(*) >= 2)`;
  const CLICKED_PROBE = `(select count(*) from (select 1 from contact_event e where e.account_id = $1
      and e.contact_id = c.id and e.type = 1 and e.occurred_at >= ${SINCE} limit 2) x) = 2`;
  const SCORE_SET = (v: number) =>
    `c.id in (select contact_id from contact_score where score_id = $2 and value > ${v})`;
  const SCORE_PROBE = (v: number) =>
    `coalesce((select value from contact_score s where s.score_id = $2 and s.contact_id = c.id), 0) > ${v}`;
  const REVENUE = (v: number) => `coalesce((c.fields->>'revenue')::numeric > ${v}, false)`;
  /** Each segment's reference, as alternative WHERE clauses over `contact c` (one statement each). */
  const cases: { name: string; id: string; wheres: Record<string, string>; grouped?: string }[] = [
    { name: 'field only (country = FR)', id: ids.fr, wheres: { plain: `c.country = 'FR'` } },
    {
      name: 'field + score (FR, score > 20)',
      id: ids.frScore,
      wheres: {
        set: `c.country = 'FR' and ${SCORE_SET(20)}`,
        probe: `c.country = 'FR' and ${SCORE_PROBE(20)}`,
        join: `c.country = 'FR' and exists (select 1 from contact_score s where s.score_id = $2 and s.contact_id = c.id and s.value > 20)`,
      },
    },
    {
      name: 'clicked >= 2 in 30 days',
      id: ids.clicked,
      wheres: { set: CLICKED_SET, probe: CLICKED_PROBE },
      grouped: `select contact_id as id from contact_event where account_id = $1 and type = 1
        and occurred_at >= ${SINCE} group by contact_id having count(*) >= 2`,
    },
    {
      name: 'compound (FR, revenue > 100, clicked 2x 30d; or score > 50)',
      id: ids.compound,
      wheres: {
        set: `((c.country = 'FR' and ${REVENUE(100)} and ${CLICKED_SET}) or ${SCORE_SET(50)})`,
        probe: `((c.country = 'FR' and ${REVENUE(100)} and ${CLICKED_PROBE}) or ${SCORE_PROBE(50)})`,
      },
    },
    {
      name: 'nested (in FR segment, not in clicked segment, revenue > 500 or score > 10)',
      id: ids.nested,
      wheres: {
        set: `c.country = 'FR' and not (${CLICKED_SET}) and (${REVENUE(500)} or ${SCORE_SET(10)})`,
        probe: `c.country = 'FR' and not (${CLICKED_PROBE}) and (${REVENUE(500)} or ${SCORE_PROBE(10)})`,
      },
    },
  ];

  const env = await loadTargetEnv(b.app.services.orm.em.fork(), accountId);
  const time = (f: () => Promise<unknown>, runs = RUNS) => timeRuns(f, runs);
  /** The fastest candidate by median; one clearly slower after 3 runs is not run 20 times. */
  const best = async (candidates: Record<string, () => Promise<unknown>>) => {
    let top: { name: string; xs: number[] } | null = null;
    for (const [name, f] of Object.entries(candidates)) {
      const first = await time(f, Math.min(3, RUNS));
      if (top && quantile(first, 0.5) > 3 * quantile(top.xs, 0.5)) {
        log(`  reference "${name}" skipped after 3 runs: median ${ms(quantile(first, 0.5))} ms`);
        continue;
      }
      const xs = [...first, ...(await time(f, RUNS - first.length))];
      log(`  reference "${name}": p50 ${ms(quantile(xs, 0.5))} ms`);
      if (!top || quantile(xs, 0.5) < quantile(top.xs, 0.5)) top = { name, xs };
    }
    return top as { name: string; xs: number[] };
  };
  const fingerprint = (ids: string) =>
    ref<{ n: string; s: string; x: string }>(
      `select count(*)::text as n, coalesce(sum(id), 0)::text as s, coalesce(bit_xor(id), 0)::text as x from (${ids}) m`,
    ).then((r) => `${r[0].n}/${r[0].s}/${r[0].x}`);

  const rows: string[][] = [];
  for (const k of cases) {
    log(k.name);
    const idsOf = (w: string) => `select c.id from contact c where c.account_id = $1 and ${w}`;
    // Same contacts: our compiled statement's whole set against every reference shape.
    const params = new Params([accountId]);
    const ourSet = `select c.id from contact c where c.account_id = $1::uuid and ${matchSql(env, { segment: { segmentId: k.id } }, params, 'set', '$1::uuid')}`;
    const ours = await q<{ n: string; s: string; x: string }>(
      `select count(*)::text as n, coalesce(sum(id), 0)::text as s, coalesce(bit_xor(id), 0)::text as x from (${ourSet}) m`,
      params.values,
    ).then((r) => `${r[0].n}/${r[0].s}/${r[0].x}`);
    for (const [name, w] of Object.entries(k.wheres)) {
      const theirs = await fingerprint(idsOf(w));
      if (theirs !== ours) {
        failures++;
        log(`  MISMATCH with reference "${name}": ours ${ours}, reference ${theirs}`);
      }
    }
    const countQuery = `query ($id: ID!) { segment(id: $id) { count } }`;
    const pageQuery = `query ($id: ID!) { segment(id: $id) { contacts(first: ${PAGE}) { nodes { id } } } }`;
    const apiCount = (await b.gql<{ segment: { count: number } }>(countQuery, { id: k.id }, token)).segment
      .count;
    const apiPage = (
      await b.gql<{ segment: { contacts: { nodes: { id: string }[] } } }>(pageQuery, { id: k.id }, token)
    ).segment.contacts.nodes.map((n) => n.id);
    const refPage = await ref<{ id: string }>(
      `${idsOf(Object.values(k.wheres)[0])} order by c.id limit ${PAGE}`,
    );
    const refPageIds = refPage.map((r) => String(r.id));
    const refCount = Number((await fingerprint(idsOf(Object.values(k.wheres)[0]))).split('/')[0]);
    if (apiCount !== refCount) {
      failures++;
      log(`  MISMATCH: API count ${apiCount}, reference ${refCount}`);
    }
    if (apiPage.length !== Math.min(PAGE, refCount) || apiPage.join() !== refPageIds.join()) {
      failures++;
      log(`  MISMATCH: API first page [${apiPage.join()}], reference [${refPageIds.join()}]`);
    }

    const oursCount = await time(() => b.gql(countQuery, { id: k.id }, token));
    const oursPage = await time(() => b.gql(pageQuery, { id: k.id }, token));
    const refCounts: Record<string, () => Promise<unknown>> = {};
    const refPages: Record<string, () => Promise<unknown>> = {};
    for (const [name, w] of Object.entries(k.wheres)) {
      refCounts[name] = () => ref(`select count(*) from contact c where c.account_id = $1 and ${w}`);
      refPages[name] = () => ref(`${idsOf(w)} order by c.id limit ${PAGE}`);
    }
    if (k.grouped) {
      refCounts.grouped = () => ref(`select count(*) from (${k.grouped}) g`);
      refPages.grouped = () => ref(`${k.grouped} order by contact_id limit ${PAGE}`);
    }
    const refCount_ = await best(refCounts);
    const refPage_ = await best(refPages);
    const p = (xs: number[]) => `${ms(quantile(xs, 0.5))} / ${ms(quantile(xs, 0.95))}`;
    rows.push([
      k.name,
      fmt(apiCount),
      p(oursCount),
      `${p(refCount_.xs)} (${refCount_.name})`,
      (quantile(oursCount, 0.5) / quantile(refCount_.xs, 0.5)).toFixed(2),
      p(oursPage),
      `${p(refPage_.xs)} (${refPage_.name})`,
      (quantile(oursPage, 0.5) / quantile(refPage_.xs, 0.5)).toFixed(2),
    ]);
  }

  const { rows: sizes } = await b.pool.query(
    `select (select count(*) from contact) as contacts, (select count(*) from contact_event) as events`,
  );
  console.log(
    `\nSegments bench: ${fmt(Number(sizes[0].contacts))} contacts, ${fmt(Number(sizes[0].events))} events; ` +
      `p50 / p95 over ${RUNS} runs, in ms; ours over HTTP (GraphQL), references as one SQL statement on the raw tables.\n`,
  );
  table(
    [
      'segment',
      'members',
      'count: ours',
      'count: best raw SQL',
      'ratio',
      `first ${PAGE}: ours`,
      `first ${PAGE}: best raw SQL`,
      'ratio',
    ],
    rows,
  );
  console.log('');
  log(`contact sets differing from the reference: ${failures}`);
  if (failures) process.exitCode = 1;
} finally {
  await b.close();
}
