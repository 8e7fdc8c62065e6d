import { type CompileMode, compileCriterion, Params } from './criterion.compile.js';
import type { Criterion } from './criterion.js';
import type { TargetEnv } from './target-env.js';

/**
 * Runs one read statement (`$n` placeholders) and returns its rows. Callers pass a runner that
 * bounds it (a statement timeout, cancelled when the client goes away: src/db/bounded-read.ts),
 * or a plain pool query in jobs and benches.
 */
export type Run = <T>(sql: string, params: unknown[]) => Promise<T[]>;

/**
 * The boolean of a criterion over contact `c` for a statement whose parameters are `params`.
 * `set` for statements that read every contact (counts), `probe` for those that stop early
 * (first pages in id order, a page of contacts' memberships): see CompileMode.
 */
export function matchSql(
  env: TargetEnv,
  criterion: Criterion,
  params: Params,
  mode: CompileMode,
  account?: string,
): string {
  // The account placeholder only when the caller has none, and only once a subquery uses it: a
  // bound parameter that the text never uses has no type, and PostgreSQL refuses the statement.
  // (Guessing from the criterion missed events that read the raw table, correlated on c: a
  // set-mode page or export of "clicked this url" then failed on an untyped $n.)
  let bound: string | undefined;
  const lazy = () => {
    bound ??= params.add(env.accountId, 'uuid');
    return bound;
  };
  return compileCriterion(criterion, {
    fields: env.fields,
    params,
    timeZone: env.timeZone,
    segments: env.segments,
    mode,
    account: account ?? lazy,
  });
}

/** The statement counting the account's contacts that match (exact, from the live tables). */
export function countStatement(env: TargetEnv, criterion: Criterion): { sql: string; params: unknown[] } {
  const params = new Params([env.accountId]);
  const match = matchSql(env, criterion, params, 'set', '$1::uuid');
  return {
    sql: `select count(*)::bigint as n from contact c where c.account_id = $1::uuid and ${match}`,
    params: params.values,
  };
}

export async function countMatching(run: Run, env: TargetEnv, criterion: Criterion): Promise<number> {
  const { sql, params } = countStatement(env, criterion);
  const rows = await run<{ n: string }>(sql, params);
  return Number(rows[0]?.n ?? 0);
}

/** At most this many segments are tested per statement (each adds its whole criterion). */
export const MEMBERSHIP_CHUNK = 100;

/**
 * The segments each of these contacts belongs to, among `segments` (ids of env.segments), in
 * one statement per MEMBERSHIP_CHUNK segments, whatever the number of contacts: the batch behind
 * Contact.segments for a page. Returns contact id -> segment ids, in the order given.
 */
export async function membershipsOf(
  run: Run,
  env: TargetEnv,
  segmentIds: readonly string[],
  contactIds: readonly string[],
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(contactIds.map((id) => [id, []]));
  if (!contactIds.length || !segmentIds.length) return out;
  for (let i = 0; i < segmentIds.length; i += MEMBERSHIP_CHUNK) {
    const chunk = segmentIds.slice(i, i + MEMBERSHIP_CHUNK);
    const params = new Params([env.accountId, contactIds]);
    const tests = chunk.map((id, k) => {
      const criterion = env.segments.get(id);
      if (!criterion) throw new Error(`segment ${id} is not in the account's targeting environment`);
      return `coalesce(${matchSql(env, { segment: { segmentId: id } }, params, 'probe')}, false) as s${k}`;
    });
    const rows = await run<Record<string, unknown> & { id: string }>(
      `select c.id::text as id, ${tests.join(', ')} from contact c
        where c.account_id = $1::uuid and c.id = any($2::bigint[])`,
      params.values,
    );
    for (const r of rows) {
      const list = out.get(r.id);
      if (list) for (const [k, id] of chunk.entries()) if (r[`s${k}`] === true) list.push(id);
    }
  }
  return out;
}
