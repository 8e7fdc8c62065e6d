import type { EntityManager } from '@mikro-orm/postgresql';
import { DEFAULT_SETTINGS } from '../account/account.entity.js';
import { type FieldDef, loadFields } from '../contacts/fields.js';
import type { CheckEnv, Criterion } from './criterion.js';
import type { TargetNode } from './criterion.refs.js';
import { targetRefs } from './criterion.refs.js';

/** Everything checking and compiling an account's criteria needs, read in one go. */
export interface TargetEnv extends CheckEnv {
  accountId: string;
  fields: Map<string, FieldDef>;
  scoreIds: Set<string>;
  segmentIds: Set<string>;
  /** Stored criteria of the account's segments, to inline `segment` criteria. */
  segments: Map<string, Criterion>;
  timeZone: string;
}

/** Anything with MikroORM's `execute` (`?` placeholders): an EntityManager or the runner's shim. */
type Executor = Pick<EntityManager, 'execute'>;

export async function loadTargetEnv(em: Executor, accountId: string): Promise<TargetEnv> {
  const [fields, rows] = await Promise.all([
    loadFields(em as EntityManager, accountId),
    em.execute<{ kind: 'score' | 'segment' | 'tz'; id: string; criterion: Criterion | null }[]>(
      `select 'score' as kind, id::text as id, null::jsonb as criterion from score where account_id = ?
       union all select 'segment', id::text, criterion from segment where account_id = ?
       union all select 'tz', coalesce(settings->>'timeZone', ?), null from account where id = ?`,
      [accountId, accountId, DEFAULT_SETTINGS.timeZone, accountId],
    ),
  ]);
  const env: TargetEnv = {
    accountId,
    fields,
    scoreIds: new Set(),
    segmentIds: new Set(),
    segments: new Map(),
    timeZone: DEFAULT_SETTINGS.timeZone,
  };
  for (const r of rows) {
    if (r.kind === 'score') env.scoreIds.add(r.id);
    else if (r.kind === 'segment') {
      env.segmentIds.add(r.id);
      env.segments.set(r.id, r.criterion as Criterion);
    } else env.timeZone = r.id;
  }
  return env;
}

/**
 * The targeting graph of an account as stored: each score and segment with what its criteria
 * name. Read under lockTargeting, so a concurrent definition cannot close a cycle unseen.
 */
export async function loadTargetGraph(
  em: Executor,
  accountId: string,
): Promise<Map<TargetNode, Set<TargetNode>>> {
  const rows = await em.execute<{ node: TargetNode; criterion: Criterion }[]>(
    `select 'segment:' || s.id as node, s.criterion from segment s where s.account_id = ?
     union all
     select 'score:' || sc.score_id, sc.criterion from score_condition sc join score s on s.id = sc.score_id
      where s.account_id = ?`,
    [accountId, accountId],
  );
  const graph = new Map<TargetNode, Set<TargetNode>>();
  for (const r of rows)
    targetRefs(r.criterion, graph.get(r.node) ?? graph.set(r.node, new Set()).get(r.node));
  // Operations not yet sent nor cancelled read the segments of their audience (included or
  // excluded): a segment they name cannot be deleted. Nothing reads an operation, so they close
  // no cycle. Their saves take lockTargeting too (operation.audience.ts).
  const ops = await em.execute<{ id: string; segments: string[] }[]>(
    `select o.id::text as id, array(select jsonb_array_elements_text(coalesce(o.audience->'segmentIds', '[]'))
                                    union select jsonb_array_elements_text(coalesce(o.audience->'excludedSegmentIds', '[]'))) as segments
       from operation o where o.account_id = ? and o.status not in ('SENT', 'CANCELLED')`,
    [accountId],
  );
  for (const o of ops)
    if (o.segments.length)
      graph.set(`operation:${o.id}`, new Set(o.segments.map((id) => `segment:${id}` as TargetNode)));
  return graph;
}

/**
 * Serialises changes to an account's scores and segments (definitions only, not their values):
 * the cycle and "still used" checks read the whole graph, and two concurrent saves could each
 * pass them and together make a cycle or a dangling reference. A transaction-scoped advisory
 * lock: contact writes and reads never wait on it.
 */
export async function lockTargeting(em: Executor, accountId: string): Promise<void> {
  await em.execute(`select pg_advisory_xact_lock(hashtextextended('targeting:' || ?, 0))`, [accountId]);
}
