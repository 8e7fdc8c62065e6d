import type { GraphQLResolveInfo } from 'graphql';
import type { AuthedContext } from '../../context.js';
import { boundedRun } from '../../db/bounded-read.js';
import { batched } from '../../shared/batch.js';
import { badInput } from '../../shared/errors.js';
import { isRowId } from '../../shared/ids.js';
import type { Page } from '../../shared/pagination.js';
import { type ContactOrder, type ContactView, listContacts } from '../contacts/contact.service.js';
import { countMatching, matchSql, membershipsOf } from '../targeting/audience.js';
import { type Criterion, normaliseCriterion } from '../targeting/criterion.js';
import { expandSegments, refuseUnknownRefs } from '../targeting/criterion.refs.js';
import { loadTargetEnv, type TargetEnv } from '../targeting/target-env.js';
import { allSegments, type SegmentView } from './segment.service.js';

export const PREVIEW_DEFAULT = 20;
export const PREVIEW_MAX = 50;

/**
 * The account's targeting environment, read once for the fields of one tick (a page of segments
 * asking for their counts) and never kept: a segment changed by an earlier step of the same
 * operation is seen as it is now.
 */
export async function targetEnvOf(ctx: AuthedContext): Promise<TargetEnv> {
  const { accountId } = ctx.viewer;
  const env = await batched(ctx.em, 'segment.targetEnv', accountId, async () => {
    return new Map([[accountId, await loadTargetEnv(ctx.em, accountId)]]);
  });
  return env as TargetEnv;
}

/** Exact, from the live tables, under the bounded runner (statement timeout, cancellation). */
export async function countMembers(ctx: AuthedContext, criterion: Criterion): Promise<number> {
  return countMatching(boundedRun(ctx), await targetEnvOf(ctx), criterion);
}

/**
 * A page of members in the orders and with the cursors of `contacts`. By id the criterion is
 * probed per contact and the scan stops after the page; the other orders sort every match, so
 * the set form (each subquery run once) is the cheaper one there.
 */
export async function memberPage(
  ctx: AuthedContext,
  criterion: Criterion,
  order: { field: ContactOrder; desc: boolean },
  first: number | null | undefined,
  after: string | null,
  info?: GraphQLResolveInfo,
): Promise<Page<ContactView>> {
  const env = await targetEnvOf(ctx);
  const mode = order.field === 'ID' ? 'probe' : 'set';
  return listContacts(ctx, {}, order, first, after, info, {
    where: (params) => matchSql(env, criterion, params, mode),
    run: boundedRun(ctx),
  });
}

/** What previewSegment answers from: a checked criterion not saved anywhere. */
export interface Preview {
  criterion: Criterion;
  first: number;
}

export async function preview(ctx: AuthedContext, raw: unknown, first?: number | null): Promise<Preview> {
  const size = first ?? PREVIEW_DEFAULT;
  if (!Number.isInteger(size) || size < 1 || size > PREVIEW_MAX)
    throw badInput(`first must be between 1 and ${PREVIEW_MAX}`);
  const env = await targetEnvOf(ctx);
  refuseUnknownRefs(raw, env);
  const criterion = normaliseCriterion(raw, env);
  // Refused here with the same message as createSegment would give, not later by the compiler.
  expandSegments(criterion, env.segments);
  return { criterion, first: size };
}

/**
 * Contact.segments for every contact resolved in one tick (a page): the account's segments and
 * the environment read once, then membershipsOf tests every segment for every contact of the
 * page in one statement (per 100 segments), whatever the page size.
 */
export async function contactSegments(ctx: AuthedContext, contactId: string): Promise<SegmentView[]> {
  const load = async (keys: string[]) => {
    const { accountId } = ctx.viewer;
    const list = await allSegments(ctx.em, accountId);
    const out = new Map<string, SegmentView[]>(keys.map((k) => [k, []]));
    if (!list.length) return out;
    // The tick's environment, shared with any count or page of the same tick (one load).
    const env = await targetEnvOf(ctx);
    // A segment created between the two reads is left for the next page.
    const known = list.filter((s) => env.segments.has(s.id));
    const byId = new Map(known.map((s) => [s.id, s]));
    const members = await membershipsOf(
      boundedRun(ctx),
      env,
      known.map((s) => s.id),
      keys.filter(isRowId),
    );
    for (const [contact, ids] of members)
      out.set(
        contact,
        ids.map((id) => byId.get(id) as SegmentView),
      );
    return out;
  };
  return (await batched(ctx.em, 'contact.segments', contactId, load)) ?? [];
}
