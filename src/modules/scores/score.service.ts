import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppServices, AuthedContext } from '../../context.js';
import { parseDecimal } from '../../shared/decimal.js';
import { badInput, notFound } from '../../shared/errors.js';
import { isUuid } from '../../shared/ids.js';
import { mutate } from '../audit/audit.service.js';
import { type Criterion, fieldValueOf, normaliseCriterion, splitPerEvent } from '../targeting/criterion.js';
import {
  expandSegments,
  refuseCycle,
  refuseInUse,
  refuseUnknownRefs,
  type TargetNode,
  targetRefs,
} from '../targeting/criterion.refs.js';
import { loadTargetEnv, loadTargetGraph, lockTargeting } from '../targeting/target-env.js';
import type { ScoreMode } from './score.entity.js';
import { scheduleScoreRun } from './score.jobs.js';
import { RUN_COLUMNS, type RunView, startScoreRun } from './score.runner.js';

export const SCORE_PREFIX = '[SCORE] ';
export const MAX_CONDITIONS = 20;
export const MAX_DELETE_SCORES = 100;

export interface ConditionView {
  criterion: Criterion;
  mode: ScoreMode;
  value: string;
  coefficient: string;
}
export interface ScoreView {
  id: string;
  name: string;
  description: string;
  conditions: ConditionView[];
  lastRunAt: Date | null;
  nextRunAt: Date | null;
}

export interface ConditionInput {
  criterion: unknown;
  mode: ScoreMode;
  value?: string | null;
  coefficient?: string | null;
}
export interface ScoreInput {
  name?: string | null;
  description?: string | null;
  conditions?: ConditionInput[] | null;
}

const SELECT = `select s.id, s.name, s.description, s.last_run_at as "lastRunAt", s.next_run_at as "nextRunAt",
  coalesce((select json_agg(json_build_object('criterion', sc.criterion, 'mode', sc.mode,
     'value', sc.value::text, 'coefficient', sc.coefficient::text) order by sc.position)
     from score_condition sc where sc.score_id = s.id), '[]') as conditions
  from score s`;

export async function listScores(em: EntityManager, accountId: string): Promise<ScoreView[]> {
  return em.execute<ScoreView[]>(`${SELECT} where s.account_id = ? order by s.name, s.id`, [accountId]);
}

export async function findScore(em: EntityManager, accountId: string, id: string): Promise<ScoreView | null> {
  if (!isUuid(id)) return null;
  const rows = await em.execute<ScoreView[]>(`${SELECT} where s.account_id = ? and s.id = ?`, [
    accountId,
    id,
  ]);
  return rows[0] ?? null;
}

/** "[SCORE] " is added unless the name already starts with a bracketed prefix. */
export function prefixedName(raw: string): string {
  const name = raw.trim();
  if (!name) throw badInput('name must not be empty');
  const full = /^\[[^\]\n]{1,40}\]/.test(name) ? name : `${SCORE_PREFIX}${name}`;
  if (full.length > 200) throw badInput('name must have at most 200 characters (prefix included)');
  return full;
}

async function checkConditions(
  em: EntityManager,
  accountId: string,
  list: ConditionInput[],
  scoreIds: Set<string>,
): Promise<ConditionView[]> {
  if (list.length < 1 || list.length > MAX_CONDITIONS)
    throw badInput(`a score has 1 to ${MAX_CONDITIONS} conditions`);
  const env = await loadTargetEnv(em, accountId);
  const { fields } = env;
  return list.map((c, i) => {
    const p = `conditions[${i}]`;
    refuseUnknownRefs(c.criterion, { ...env, scoreIds });
    const stored = normaliseCriterion(c.criterion, { ...env, scoreIds }, `${p}.criterion`);
    // The shape checks below read the segments a criterion names as they are now.
    const criterion = expandSegments(stored, env.segments);
    const value = c.value != null ? parseDecimal(c.value, `${p}.value`) : null;
    const coefficient = c.coefficient != null ? parseDecimal(c.coefficient, `${p}.coefficient`) : null;
    if (c.mode === 'FIELD_VALUE') {
      fieldValueOf(criterion, fields, `${p}.criterion`);
      return { criterion: stored, mode: c.mode, value: value ?? '0', coefficient: coefficient ?? '1' };
    }
    if (value === null) throw badInput(`${p}.value: ${c.mode} needs a value`);
    if (coefficient !== null && coefficient !== '1')
      throw badInput(`${p}.coefficient: only FIELD_VALUE uses a coefficient`);
    if (c.mode === 'FIXED_PER_EVENT') splitPerEvent(criterion, `${p}.criterion`);
    else if (c.mode !== 'FIXED') throw badInput(`${p}.mode: unknown mode`);
    return { criterion: stored, mode: c.mode, value, coefficient: '1' };
  });
}

async function accountScoreIds(em: EntityManager, accountId: string): Promise<Set<string>> {
  await lockTargeting(em, accountId);
  const rows = await em.execute<{ id: string }[]>('select id from score where account_id = ? for update', [
    accountId,
  ]);
  return new Set(rows.map((r) => r.id));
}

async function writeConditions(em: EntityManager, scoreId: string, conditions: ConditionView[]) {
  await em.execute('delete from score_condition where score_id = ?', [scoreId]);
  await em.execute(
    `insert into score_condition (score_id, position, criterion, mode, value, coefficient)
     select ?, x.ord - 1, x.c->'criterion', x.c->>'mode', (x.c->>'value')::numeric, (x.c->>'coefficient')::numeric
       from jsonb_array_elements(?::jsonb) with ordinality as x(c, ord)`,
    [scoreId, JSON.stringify(conditions)],
  );
}

export async function createScore(
  ctx: AuthedContext,
  input: Required<Pick<ScoreInput, 'name'>> & ScoreInput,
) {
  const { accountId } = ctx.viewer;
  const name = prefixedName(input.name ?? '');
  const description = (input.description ?? '').trim();
  if (description.length > 2000) throw badInput('description must have at most 2000 characters');
  return mutate(ctx, async ({ em, audit }) => {
    const ids = await accountScoreIds(em, accountId);
    const conditions = await checkConditions(em, accountId, input.conditions ?? [], ids);
    const [row] = await em.execute<{ id: string }[]>(
      // A new score joins the account's schedule: same next automatic run as the others.
      `insert into score (account_id, name, description, next_run_at)
       values (?, ?, ?, (select max(next_run_at) from score where account_id = ?)) returning id`,
      [accountId, name, description, accountId],
    );
    await writeConditions(em, row.id, conditions);
    audit({
      action: 'createScore',
      feature: 'CONTACTS',
      objectType: 'Score',
      objectId: row.id,
      diff: { name, description, conditions },
    });
    return (await findScore(em, accountId, row.id)) as ScoreView;
  });
}

export async function updateScore(ctx: AuthedContext, id: string, input: ScoreInput) {
  const { accountId } = ctx.viewer;
  return mutate(ctx, async ({ em, audit }) => {
    const ids = await accountScoreIds(em, accountId);
    const before = ids.has(id) ? await findScore(em, accountId, id) : null;
    if (!before) throw notFound('Score');
    const diff: Record<string, { from: unknown; to: unknown }> = {};
    const sets: string[] = [];
    const params: unknown[] = [];
    if (input.name != null) {
      const name = prefixedName(input.name);
      if (name !== before.name) diff.name = { from: before.name, to: name };
      sets.push('name = ?');
      params.push(name);
    }
    if (input.description != null) {
      const description = input.description.trim();
      if (description.length > 2000) throw badInput('description must have at most 2000 characters');
      if (description !== before.description)
        diff.description = { from: before.description, to: description };
      sets.push('description = ?');
      params.push(description);
    }
    if (input.conditions != null) {
      const conditions = await checkConditions(em, accountId, input.conditions, ids);
      await refuseScoreCycle(em, accountId, id, conditions);
      await writeConditions(em, id, conditions);
      diff.conditions = { from: before.conditions, to: conditions };
    }
    sets.push('updated_at = clock_timestamp()');
    await em.execute(`update score set ${sets.join(', ')} where id = ?`, [...params, id]);
    audit({ action: 'updateScore', feature: 'CONTACTS', objectType: 'Score', objectId: id, diff });
    return (await findScore(em, accountId, id)) as ScoreView;
  });
}

/**
 * A score may read others through `score` criteria and segments through `segment` criteria, never
 * itself, even through a chain of scores and segments (targeting/criterion.refs.ts).
 */
async function refuseScoreCycle(
  em: EntityManager,
  accountId: string,
  id: string,
  conditions: ConditionView[],
) {
  const graph = await loadTargetGraph(em, accountId);
  const mine = new Set<TargetNode>();
  for (const c of conditions) targetRefs(c.criterion, mine);
  refuseCycle(`score:${id}`, mine, graph);
}

export async function deleteScores(ctx: AuthedContext, ids: string[]): Promise<string[]> {
  if (ids.length > MAX_DELETE_SCORES) throw badInput(`deleteScores takes at most ${MAX_DELETE_SCORES} ids`);
  const wanted = ids.filter((i) => isUuid(i));
  if (!wanted.length) return [];
  const { accountId } = ctx.viewer;
  return mutate(ctx, async ({ em, audit }) => {
    const found = await em.execute<{ id: string; name: string }[]>(
      'select id, name from score where account_id = ? and id in (?) for update',
      [accountId, wanted],
    );
    if (!found.length) return [];
    const gone = new Set(found.map((f) => f.id));
    refuseInUse(
      await loadTargetGraph(em, accountId),
      [...gone].map((g) => `score:${g}` as const),
    );
    await em.execute('delete from contact_score where score_id in (?)', [[...gone]]);
    await em.execute('delete from score where id in (?)', [[...gone]]);
    for (const f of found)
      audit({
        action: 'deleteScore',
        feature: 'CONTACTS',
        objectType: 'Score',
        objectId: f.id,
        diff: { name: f.name },
      });
    return [...gone];
  });
}

export async function listRuns(em: EntityManager, accountId: string, first: number): Promise<RunView[]> {
  return em.execute<RunView[]>(
    `select ${RUN_COLUMNS} from score_run where account_id = ? order by started_at desc, id limit ?`,
    [accountId, first],
  );
}

export async function findRun(em: EntityManager, accountId: string, id: string): Promise<RunView | null> {
  if (!isUuid(id)) return null;
  const rows = await em.execute<RunView[]>(
    `select ${RUN_COLUMNS} from score_run where account_id = ? and id = ?`,
    [accountId, id],
  );
  return rows[0] ?? null;
}

/**
 * The « Lancer le calcul des scores » button: starts a run now (CONFLICT if one is running) and
 * schedules the next automatic one `scoreIntervalHours` after it. Returns the RUNNING run; follow
 * it with `scoreRunProgress(runId)`.
 */
export async function runScoreComputation(ctx: AuthedContext): Promise<RunView> {
  const app = ctx.app;
  const { run } = await startScoreRun(runnerDeps(app), ctx.viewer.accountId, ctx.viewer.userId, 'MANUAL');
  await scheduleScoreRun(app, ctx.viewer.accountId, new Date(run.startedAt));
  await mutate(ctx, async ({ audit }) => {
    audit({ action: 'runScoreComputation', feature: 'CONTACTS', objectType: 'ScoreRun', objectId: run.id });
  });
  return run;
}

export const runnerDeps = (app: AppServices) => ({
  pool: app.jobs.pool,
  pubsub: app.pubsub,
  logger: app.logger,
  track: (t: Promise<unknown>) => app.jobs.track(t),
});
