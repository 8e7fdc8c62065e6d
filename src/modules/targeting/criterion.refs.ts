import { badInput, conflict, notFound } from '../../shared/errors.js';
import { isUuid } from '../../shared/ids.js';
import type { CheckEnv, Criterion } from './criterion.js';

/** A criterion with every `segment` node replaced by that segment's own criterion. */
export const MAX_EXPANDED_LEAVES = 500;

/** Segments read by a criterion, directly (not through other segments). */
export function segmentRefs(c: Criterion, out = new Set<string>()): Set<string> {
  if ('segment' in c) out.add(c.segment.segmentId);
  else if ('all' in c) for (const x of c.all) segmentRefs(x, out);
  else if ('any' in c) for (const x of c.any) segmentRefs(x, out);
  else if ('not' in c) segmentRefs(c.not, out);
  return out;
}

/**
 * Inlines the segments a criterion names, as they are now: a segment is a saved criterion, so
 * membership is always computed from the live tables. Cycles are refused when a segment or score
 * is saved (refuseCycle); the depth guard here only stops a stored cycle from looping forever.
 * The size guard keeps a chain of segments that each name another twice from growing a SQL text
 * of 2^n conditions.
 */
export function expandSegments(c: Criterion, segments: ReadonlyMap<string, Criterion>): Criterion {
  let leaves = 0;
  const walk = (x: Criterion, depth: number, path: string[]): Criterion => {
    if ('all' in x) return { all: x.all.map((y) => walk(y, depth, path)) };
    if ('any' in x) return { any: x.any.map((y) => walk(y, depth, path)) };
    if ('not' in x) return { not: walk(x.not, depth, path) };
    if ('segment' in x) {
      const id = x.segment.segmentId;
      const inner = segments.get(id);
      if (!inner) throw badInput(`segment ${id} does not exist in this account`, { segmentId: id });
      if (path.includes(id) || depth > 32)
        throw badInput(`segment ${id} reads itself through ${path.join(' > ')}`, { segmentId: id });
      return walk(inner, depth + 1, [...path, id]);
    }
    if (++leaves > MAX_EXPANDED_LEAVES)
      throw badInput(
        `with the segments it names, this criterion has more than ${MAX_EXPANDED_LEAVES} conditions`,
      );
    return x;
  };
  return walk(c, 0, []);
}

/** A node of the targeting graph: what reads criteria (scores, segments) and what they name. */
export type TargetNode = `score:${string}` | `segment:${string}` | `operation:${string}`;

/**
 * Refuses a definition that would make a score or segment depend on itself, directly or through
 * any chain of scores and segments (a score that reads a segment that reads that score, ...).
 * `edges` holds every other node's references as stored; `node` gets `refs` instead.
 */
export function refuseCycle(
  node: TargetNode,
  refs: Iterable<TargetNode>,
  edges: ReadonlyMap<TargetNode, Iterable<TargetNode>>,
): void {
  const seen = new Set<TargetNode>();
  const stack: { at: TargetNode; path: TargetNode[] }[] = [...refs].map((r) => ({ at: r, path: [r] }));
  while (stack.length) {
    const { at, path } = stack.pop() as { at: TargetNode; path: TargetNode[] };
    if (at === node)
      throw badInput(
        `a ${node.split(':')[0]} cannot depend on itself: ${[node, ...path].map(label).join(' > ')}`,
        { cycle: [node, ...path] },
      );
    if (seen.has(at)) continue;
    seen.add(at);
    for (const next of edges.get(at) ?? []) stack.push({ at: next, path: [...path, next] });
  }
}

const label = (n: TargetNode) => n.replace(':', ' ');

/** The nodes a criterion names directly. */
export function targetRefs(c: Criterion, out = new Set<TargetNode>()): Set<TargetNode> {
  if ('segment' in c) out.add(`segment:${c.segment.segmentId}`);
  else if ('score' in c) out.add(`score:${c.score.scoreId}`);
  else if ('all' in c) for (const x of c.all) targetRefs(x, out);
  else if ('any' in c) for (const x of c.any) targetRefs(x, out);
  else if ('not' in c) targetRefs(c.not, out);
  return out;
}

/**
 * CONFLICT when a score or segment about to be deleted is still named by one that stays: the
 * message and `usedBy` say which, so the user changes that one first.
 */
export function refuseInUse(graph: ReadonlyMap<TargetNode, Iterable<TargetNode>>, gone: TargetNode[]): void {
  const leaving = new Set(gone);
  for (const [node, refs] of graph) {
    if (leaving.has(node)) continue;
    const used = [...refs].find((r) => leaving.has(r));
    if (used) {
      const [kind, id] = used.split(':');
      throw conflict(`${kind} ${id} is used by ${label(node)}: change that one first`, {
        [`${kind}Id`]: id,
        usedBy: node,
      });
    }
  }
}

/**
 * NOT_FOUND for a score or segment id the account does not have, before the language checks
 * (which would say BAD_USER_INPUT): another account's id answers as segment(id) does, so a
 * criterion cannot tell whether an id exists elsewhere. Walks the raw input, ids only; the shape
 * is normaliseCriterion's to judge.
 */
export function refuseUnknownRefs(
  raw: unknown,
  env: Pick<CheckEnv, 'scoreIds' | 'segmentIds'>,
  depth = 0,
): void {
  if (!raw || typeof raw !== 'object' || depth > 50) return;
  const c = raw as Record<string, unknown>;
  const score = c.score as { scoreId?: unknown } | null | undefined;
  if (
    typeof score?.scoreId === 'string' &&
    isUuid(score.scoreId) &&
    !env.scoreIds.has(score.scoreId.toLowerCase())
  )
    throw notFound('Score');
  const segment = c.segment as { segmentId?: unknown } | null | undefined;
  if (
    typeof segment?.segmentId === 'string' &&
    isUuid(segment.segmentId) &&
    !env.segmentIds?.has(segment.segmentId.toLowerCase())
  )
    throw notFound('Segment');
  for (const k of ['all', 'any'] as const)
    if (Array.isArray(c[k])) for (const x of c[k] as unknown[]) refuseUnknownRefs(x, env, depth + 1);
  refuseUnknownRefs(c.not, env, depth + 1);
}
