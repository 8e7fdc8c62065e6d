import type { EntityManager } from '@mikro-orm/postgresql';
import type pg from 'pg';
import type { PubSub } from '../../realtime/pubsub.js';
import { conflict } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { type Criterion, scoreRefs } from '../targeting/criterion.js';
import { expandSegments } from '../targeting/criterion.refs.js';
import { loadTargetEnv } from '../targeting/target-env.js';
import { afterScore, armedTriggers, beforeScore, fireTriggers } from '../triggers/triggers.js';
import { type ConditionDef, compileScoreRun } from './score.compile.js';
import type { RunStatus, RunTrigger } from './score.entity.js';
import { PUBLISH_BATCH, PUBLISH_MAX, type ScoreChange } from './score.events.js';
import { pipeRows } from './score.pipe.js';

export interface RunView {
  id: string;
  accountId: string;
  userId: string | null;
  trigger: RunTrigger;
  status: RunStatus;
  contactsChanged: number;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  error: string | null;
}

export interface RunnerDeps {
  pool: pg.Pool;
  pubsub: Pick<PubSub, 'publish'>;
  logger: Logger;
  /** Lets the app wait for the background part on shutdown. */
  track?(task: Promise<unknown>): void;
}

export interface RunHooks {
  /** Called inside the transaction after each score is written (tests pause a run here). */
  afterScore?(index: number): Promise<void>;
}

export const RUN_COLUMNS = `id, account_id as "accountId", user_id as "userId", trigger, status,
  contacts_changed as "contactsChanged", started_at as "startedAt", finished_at as "finishedAt",
  duration_ms as "durationMs", error`;

const LOCK = `hashtextextended('cible:scores:' || $1::text, 0)`;

/**
 * Starts a computation of every score of the account. Resolves once the run is recorded as
 * RUNNING; `done` resolves when it has committed (or failed). A session advisory lock per account
 * refuses a second concurrent run (CONFLICT) in any process; a run left RUNNING by a process that
 * died (its session, hence its lock, is gone) is marked FAILED by the next one.
 */
export async function startScoreRun(
  deps: RunnerDeps,
  accountId: string,
  userId: string | null,
  trigger: RunTrigger,
  hooks: RunHooks = {},
): Promise<{ run: RunView; done: Promise<RunView> }> {
  const client = await deps.pool.connect();
  let run: RunView;
  try {
    const got = await client.query<{ ok: boolean }>(`select pg_try_advisory_lock(${LOCK}) as ok`, [
      accountId,
    ]);
    if (!got.rows[0].ok) throw conflict('A score computation is already running for this account');
    try {
      await client.query(
        `update score_run set status = 'FAILED', finished_at = now(),
                error = 'interrupted: the process running it stopped'
          where account_id = $1 and status = 'RUNNING'`,
        [accountId],
      );
      const ins = await client.query<RunView>(
        `insert into score_run (account_id, user_id, trigger, status) values ($1, $2, $3, 'RUNNING')
         returning ${RUN_COLUMNS}`,
        [accountId, userId, trigger],
      );
      run = ins.rows[0];
    } catch (err) {
      await client.query(`select pg_advisory_unlock(${LOCK})`, [accountId]);
      throw err;
    }
  } catch (err) {
    client.release();
    throw err;
  }
  const done = (async () => {
    try {
      return await compute(deps, client, run, hooks);
    } finally {
      await client.query(`select pg_advisory_unlock(${LOCK})`, [accountId]).catch(() => {});
      client.release();
    }
  })();
  deps.track?.(done);
  return { run, done };
}

interface ScoreDef {
  id: string;
  shape: 'first' | 'full' | 'auto';
  conditions: ConditionDef[];
}

async function compute(
  deps: RunnerDeps,
  client: pg.PoolClient,
  run: RunView,
  hooks: RunHooks,
): Promise<RunView> {
  const { accountId } = run;
  const started = Date.now();
  const progress = (
    status: RunView['status'],
    scoresDone: number,
    scoresTotal: number,
    changed: number,
    error: string | null = null,
  ) =>
    deps.pubsub.publish('scoreRunProgress', accountId, {
      runId: run.id,
      status,
      scoresDone,
      scoresTotal,
      contactsChanged: changed,
      error,
    });
  const changes: ScoreChange[] = [];
  let changed = 0;
  let total = 0;
  try {
    const watermark = await eventWatermark(client);
    await client.query('begin');
    await client.query(`set local work_mem = '256MB'`);
    await client.query('set local jit = off');
    const state = await client.query<{ w: string }>(
      `select event_watermark::text as w from score_state where account_id = $1 for update`,
      [accountId],
    );
    const from = state.rows[0]?.w ?? '0';
    // Fields, segments and time zone as this transaction sees them: one snapshot for the run.
    const target = await loadTargetEnv(emOver(client), accountId);
    const scores = order(await loadScores(client, accountId, target.segments));
    // Score-threshold triggers watch what this transaction changes (src/modules/triggers).
    const em = emOver(client);
    const triggers = await armedTriggers(em, accountId);
    total = scores.length;
    progress('RUNNING', 0, total, 0);
    for (const [i, score] of scores.entries()) {
      const room = Math.max(0, PUBLISH_MAX + 1 - changes.length);
      const { sql, params, plain, rows } = compileScoreRun(
        score.conditions,
        target,
        score.shape,
        room,
        from === '0',
      );
      params[0] = accountId;
      params[1] = score.id;
      params[2] = from;
      params[3] = watermark;
      await beforeScore(em, triggers, score.id);
      let sample: [string, string | null, string][];
      if (plain) {
        // A score that reads no other score can compute its rows on a second session while this
        // one inserts them (score.pipe.ts): the other session cannot see this run's writes.
        if (rows && score.refs.size === 0) changed += await pipeRows(deps.pool, client, rows, params);
        else changed += (await client.query(sql, params)).rowCount ?? 0;
        const s = await client.query<[string, null, string]>({
          text: 'select contact_id::text, null, value::text from contact_score where score_id = $1 limit $2',
          values: [score.id, room],
          rowMode: 'array',
        });
        sample = s.rows;
      } else {
        const r = await client.query<{ changed: number; sample: [string, string | null, string][] }>(
          sql,
          params,
        );
        changed += r.rows[0].changed;
        sample = r.rows[0].sample;
      }
      for (const [contactId, oldValue, newValue] of sample)
        changes.push({ contactId, scoreId: score.id, oldValue, newValue });
      await afterScore(em, triggers, score.id);
      await hooks.afterScore?.(i);
      progress('RUNNING', i + 1, total, changed);
    }
    const fired = await fireTriggers(em, triggers);
    if (fired.size) deps.logger.info('score triggers fired', { runId: run.id, ...Object.fromEntries(fired) });
    await client.query(
      `insert into score_state (account_id, event_watermark) values ($1, greatest($2::bigint, $3::bigint))
       on conflict (account_id) do update set event_watermark = excluded.event_watermark`,
      [accountId, watermark, from],
    );
    await client.query('update score set last_run_at = now() where account_id = $1', [accountId]);
    const fin = await client.query<RunView>(
      `update score_run set status = 'DONE', contacts_changed = $2, finished_at = clock_timestamp(), duration_ms = $3
        where id = $1 returning ${RUN_COLUMNS}`,
      [run.id, changed, Date.now() - started],
    );
    await client.query('commit');
    publishChanges(deps, run, changes, changed);
    progress('DONE', total, total, changed);
    return fin.rows[0];
  } catch (err) {
    await client.query('rollback').catch(() => {});
    const message = err instanceof Error ? err.message : String(err);
    deps.logger.error(`score run ${run.id} failed`, err);
    const fin = await client
      .query<RunView>(
        `update score_run set status = 'FAILED', error = $2, finished_at = clock_timestamp(), duration_ms = $3
          where id = $1 returning ${RUN_COLUMNS}`,
        [run.id, message.slice(0, 2000), Date.now() - started],
      )
      .catch(() => ({ rows: [{ ...run, status: 'FAILED' as const, error: message }] }));
    progress('FAILED', 0, total, 0, message);
    return fin.rows[0];
  }
}

/**
 * The id below which every event has committed. A brief SHARE lock waits for the transactions
 * that are inserting events (an id is drawn inside the INSERT, under ROW EXCLUSIVE) and keeps new
 * ones out while max(id) is read: no event with a smaller id can appear later, so a watermark
 * never skips one.
 */
async function eventWatermark(client: pg.PoolClient): Promise<string> {
  await client.query('begin');
  try {
    await client.query(`set local lock_timeout = '30s'`);
    await client.query('lock table contact_event in share mode');
    const r = await client.query<{ w: string }>('select coalesce(max(id), 0)::text as w from contact_event');
    await client.query('commit');
    return r.rows[0].w;
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  }
}

async function loadScores(
  client: pg.PoolClient,
  accountId: string,
  segments: ReadonlyMap<string, Criterion>,
): Promise<(ScoreDef & { refs: Set<string> })[]> {
  const { rows } = await client.query<{
    id: string;
    has_rows: boolean;
    changed: boolean;
    conditions: ConditionDef[];
  }>(
    `select s.id, exists (select 1 from contact_score cs where cs.score_id = s.id) as has_rows,
            (s.last_run_at is null or s.updated_at > s.last_run_at) as changed,
            coalesce((select json_agg(json_build_object('criterion', sc.criterion, 'mode', sc.mode,
                       'value', sc.value::text, 'coefficient', sc.coefficient::text) order by sc.position)
                        from score_condition sc where sc.score_id = s.id), '[]') as conditions
       from score s where s.account_id = $1 order by s.created_at, s.id`,
    [accountId],
  );
  return rows.map((r) => {
    const refs = new Set<string>();
    // Through segments too: a score read by a segment this score reads comes first.
    for (const c of r.conditions) scoreRefs(expandSegments(c.criterion, segments), refs);
    return {
      id: r.id,
      shape: !r.has_rows ? 'first' : r.changed ? 'full' : 'auto',
      conditions: r.conditions,
      refs,
    };
  });
}

/** Scores read by others come first (a score criterion sees this run's values). */
function order<T extends { id: string; refs: Set<string> }>(scores: T[]): T[] {
  const byId = new Map(scores.map((s) => [s.id, s]));
  const out: T[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (s: T) => {
    if (state.get(s.id) === 'done') return;
    if (state.get(s.id) === 'visiting') throw new Error('scores reference each other in a cycle');
    state.set(s.id, 'visiting');
    for (const ref of s.refs) {
      const dep = byId.get(ref);
      if (dep) visit(dep);
    }
    state.set(s.id, 'done');
    out.push(s);
  };
  for (const s of scores) visit(s);
  return out;
}

/** The little of EntityManager that loadTargetEnv uses, over our own session. */
export function emOver(client: pg.PoolClient): EntityManager {
  const execute = async (sql: string, params: unknown[] = []) => {
    let i = 0;
    return (
      await client.query(
        sql.replace(/\?/g, () => `$${++i}`),
        params,
      )
    ).rows;
  };
  return { execute, getConnection: () => ({ execute }) } as unknown as EntityManager;
}

/** After the commit: batches of PUBLISH_BATCH changes, PUBLISH_MAX at most, then one summary. */
function publishChanges(deps: RunnerDeps, run: RunView, changes: ScoreChange[], totalChanged: number) {
  const truncated = totalChanged > PUBLISH_MAX;
  const shown = changes.slice(0, PUBLISH_MAX);
  for (let i = 0; i < shown.length; i += PUBLISH_BATCH) {
    deps.pubsub.publish('scoreUpdated', run.accountId, {
      runId: run.id,
      changes: shown.slice(i, i + PUBLISH_BATCH),
      truncated: false,
      totalChanged,
    });
  }
  if (truncated)
    deps.pubsub.publish('scoreUpdated', run.accountId, {
      runId: run.id,
      changes: [],
      truncated: true,
      totalChanged,
    });
}
