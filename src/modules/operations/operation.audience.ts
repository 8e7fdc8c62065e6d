import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthedContext } from '../../context.js';
import { boundedRun } from '../../db/bounded-read.js';
import { badInput, notFound } from '../../shared/errors.js';
import { isUuid } from '../../shared/ids.js';
import { targetEnvOf } from '../segments/segment.members.js';
import { matchSql } from '../targeting/audience.js';
import { Params } from '../targeting/criterion.compile.js';
import type { Criterion } from '../targeting/criterion.js';
import { lockTargeting, type TargetEnv } from '../targeting/target-env.js';
import type { Audience, OperationKind } from './operation.entity.js';
import { checkTrigger } from './operation.trigger.js';

export const MAX_AUDIENCE_SEGMENTS = 20;

/** Email statuses that take a contact out of every Emailing audience (SOFT_BOUNCED stays in). */
export const UNREACHABLE_EMAIL = ['UNSUBSCRIBED', 'HARD_BOUNCED', 'COMPLAINED', 'UNCONFIRMED'] as const;

/** Statuses in which an operation still reads its segments: not SENT, not CANCELLED. */
const LIVE_STATUSES = [
  'DRAFT',
  'PENDING_APPROVAL',
  'VALIDATED',
  'REJECTED',
  'SCHEDULED',
  'SENDING',
  'PAUSED',
  'FAILED',
];

export interface AudienceInput {
  segmentIds?: readonly (string | number)[] | null;
  excludedSegmentIds?: readonly (string | number)[] | null;
  allContacts?: boolean | null;
  trigger?: { scoreId: string | number; threshold: string } | null;
}

export const emptyAudience = (): Audience => ({ segmentIds: [], excludedSegmentIds: [], allContacts: false });

function ids(field: string, raw: readonly (string | number)[] | null | undefined): string[] {
  const list = [...new Set((raw ?? []).map((x) => String(x).toLowerCase()))];
  if (list.length > MAX_AUDIENCE_SEGMENTS)
    throw badInput(`${field}: at most ${MAX_AUDIENCE_SEGMENTS} segments`, { field });
  // Not an id of this account's segments, whatever its shape: NOT_FOUND, as segment(id) says.
  if (!list.every(isUuid)) throw notFound('Segment');
  return list.sort();
}

/**
 * Checks an audience at save: segment ids of the account only (another account's: NOT_FOUND),
 * at most MAX_AUDIENCE_SEGMENTS each, no segment both in and out, allContacts or segments.
 */
export async function checkAudience(
  em: EntityManager,
  accountId: string,
  raw: AudienceInput,
): Promise<Audience> {
  const audience: Audience = {
    segmentIds: ids('segmentIds', raw.segmentIds),
    excludedSegmentIds: ids('excludedSegmentIds', raw.excludedSegmentIds),
    allContacts: raw.allContacts ?? false,
  };
  if (audience.allContacts && audience.segmentIds.length)
    throw badInput('audience: allContacts or segmentIds, not both', { field: 'segmentIds' });
  const both = audience.segmentIds.filter((id) => audience.excludedSegmentIds.includes(id));
  if (both.length)
    throw badInput(`audience: segment ${both[0]} is both included and excluded`, { field: 'segmentIds' });
  if (raw.trigger) audience.trigger = await checkTrigger(em, accountId, raw.trigger);
  await refuseMissingSegments(em, accountId, audience);
  return audience;
}

/** NOT_FOUND when a segment of the audience is not (or no longer) one of the account's. */
export async function refuseMissingSegments(
  em: EntityManager,
  accountId: string,
  audience: Audience,
): Promise<void> {
  const all = [...audience.segmentIds, ...audience.excludedSegmentIds];
  // Under the lock deleteSegments takes: a segment checked here cannot be deleted before this
  // transaction commits, and a deleted one is seen as gone.
  if (all.length) await lockTargeting(em, accountId);
  if (!all.length) return;
  const found = await em.execute<{ id: string }[]>(
    'select id from segment where account_id = ? and id in (?)',
    [accountId, all],
  );
  if (found.length !== all.length) throw notFound('Segment');
}

const anyOf = (segmentIds: string[]): Criterion => ({
  any: segmentIds.map((segmentId) => ({ segment: { segmentId } })),
});

/**
 * The WHERE clauses of an audience's members over `contact c`, before any address or status
 * filter: the account's contacts in the union of the segments (or all of them), not in an
 * excluded segment. Segments that vanished in the meantime are left out; null: nobody. The count
 * and the sending engine's freeze both build on it, so they agree on who is in.
 */
export function audienceMembers(env: TargetEnv, audience: Audience, params: Params): string[] | null {
  const known = (list: string[]) => list.filter((id) => env.segments.has(id));
  const include = known(audience.segmentIds);
  const exclude = known(audience.excludedSegmentIds);
  if (!audience.allContacts && !include.length) return null;
  const where = [`c.account_id = ${params.add(env.accountId, 'uuid')}`];
  if (!audience.allContacts) where.push(`(${matchSql(env, anyOf(include), params, 'set', '$1::uuid')})`);
  if (exclude.length) where.push(`not (${matchSql(env, anyOf(exclude), params, 'set', '$1::uuid')})`);
  return where;
}

/**
 * The statement counting an audience: distinct addresses (lower(email) for an Emailing, phone for
 * an SMS) among its members that have the address and, for email, are not unsubscribed,
 * hard-bounced or complained, for SMS not opted out by a STOP reply nor reported undeliverable
 * (sms_status SUBSCRIBED). The frequency cap is not applied: it depends on what is sent by the
 * time the operation starts, and is counted at its freeze (Operation.stats.send).
 */
export function audienceCountStatement(
  env: TargetEnv,
  kind: OperationKind,
  audience: Audience,
): { sql: string; params: unknown[] } | null {
  const params = new Params();
  const where = audienceMembers(env, audience, params);
  if (!where) return null;
  if (kind === 'EMAILING') {
    where.push(
      "c.email is not null and c.email <> ''",
      `c.email_status not in (${UNREACHABLE_EMAIL.map((s) => `'${s}'`).join(', ')})`,
    );
  } else where.push("c.phone is not null and c.phone <> ''", "c.sms_status = 'SUBSCRIBED'");
  const address = kind === 'EMAILING' ? 'lower(c.email)' : 'c.phone';
  return {
    sql: `select count(distinct ${address})::bigint as n from contact c where ${where.join(' and ')}`,
    params: params.values,
  };
}

/** Operation.audienceCount: live, exact, under the bounded runner (TIMEOUT past the limit). */
export async function audienceCount(
  ctx: AuthedContext,
  kind: OperationKind,
  audience: Audience,
): Promise<number> {
  const statement = audienceCountStatement(await targetEnvOf(ctx), kind, audience);
  if (!statement) return 0;
  const rows = await boundedRun(ctx)<{ n: string }>(statement.sql, statement.params);
  return Number(rows[0]?.n ?? 0);
}

/**
 * The live operations (not SENT nor CANCELLED) whose audience names one of these segments, to
 * include or exclude: what deleteSegments must refuse to delete (CONFLICT naming them).
 */
export async function operationsUsingSegments(
  em: Pick<EntityManager, 'execute'>,
  accountId: string,
  segmentIds: readonly string[],
): Promise<{ id: string; name: string }[]> {
  const wanted = segmentIds.filter(isUuid).map((s) => s.toLowerCase());
  if (!wanted.length) return [];
  return em.execute<{ id: string; name: string }[]>(
    `select id, name from operation where account_id = ? and status in (?)
       and (jsonb_exists_any(audience->'segmentIds', ?::text[])
         or jsonb_exists_any(audience->'excludedSegmentIds', ?::text[]))
     order by name, id`,
    [accountId, LIVE_STATUSES, `{${wanted.join(',')}}`, `{${wanted.join(',')}}`],
  );
}
