import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput } from '../../shared/errors.js';
import { type Criterion, fieldValueOf, splitPerEvent } from '../targeting/criterion.js';
import { expandSegments, segmentRefs } from '../targeting/criterion.refs.js';
import type { TargetEnv } from '../targeting/target-env.js';

/** Whether `c` reads segment `target`, directly or through other segments (the graph is acyclic). */
export function readsSegment(
  c: Criterion,
  target: string,
  segments: ReadonlyMap<string, Criterion>,
): boolean {
  const seen = new Set<string>();
  const stack = [...segmentRefs(c)];
  while (stack.length) {
    const id = stack.pop() as string;
    if (id === target) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    const inner = segments.get(id);
    if (inner) stack.push(...segmentRefs(inner));
  }
  return false;
}

/**
 * What reads segment `self` inlines its criterion, so a new criterion must leave each reader
 * valid: a segment at most MAX_EXPANDED_LEAVES conditions once inlined; a score condition that,
 * and its mode's shape (FIELD_VALUE one NUMBER field, FIXED_PER_EVENT events), which createScore
 * checked on the segments as they were. Otherwise the score's next run fails to compile.
 * `segments` holds the account's criteria with `self`'s new one.
 */
export async function refuseBrokenReaders(
  em: Pick<EntityManager, 'execute'>,
  env: TargetEnv,
  self: string,
  segments: ReadonlyMap<string, Criterion>,
): Promise<void> {
  for (const [id, c] of segments)
    if (id !== self && readsSegment(c, self, segments))
      try {
        expandSegments(c, segments);
      } catch (err) {
        throw badInput(
          `segment ${id} reads this one and would then be too large: ${(err as Error).message}`,
          {
            segmentId: id,
          },
        );
      }
  const conditions = await em.execute<
    { scoreId: string; name: string; mode: string; criterion: Criterion }[]
  >(
    `select s.id::text as "scoreId", s.name, sc.mode, sc.criterion
       from score_condition sc join score s on s.id = sc.score_id where s.account_id = ?`,
    [env.accountId],
  );
  for (const r of conditions) {
    if (!readsSegment(r.criterion, self, segments)) continue;
    try {
      const inlined = expandSegments(r.criterion, segments);
      if (r.mode === 'FIELD_VALUE') fieldValueOf(inlined, env.fields);
      else if (r.mode === 'FIXED_PER_EVENT') splitPerEvent(inlined);
    } catch (err) {
      throw badInput(
        `score "${r.name}" reads this segment and would then be invalid: ${(err as Error).message}`,
        {
          scoreId: r.scoreId,
        },
      );
    }
  }
}
