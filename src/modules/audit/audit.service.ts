import type { EntityManager } from '@mikro-orm/postgresql';
import type { Context } from '../../context.js';
import type { ViewerChange } from '../../realtime/pubsub.js';
import { type AppError, badInput, conflict, forbidden, isUniqueViolation } from '../../shared/errors.js';
import { isUuid } from '../../shared/ids.js';
import { decodeCursor, type Page, pageSize, toPage } from '../../shared/pagination.js';
import { atLeast, FEATURES, type Feature, type Rights } from '../access/access.js';
import { viewerCache } from '../users/viewer.cache.js';
import { AuditEntry, type AuditEntryRow } from './audit.entity.js';

/** What a mutation says it did; the who, where and when are filled in by `mutate`. */
export interface AuditInput {
  action: string;
  feature: Feature | null;
  objectType?: string | null;
  objectId?: string | null;
  diff?: Record<string, unknown> | null;
  /** For public mutations (signUp, acceptInvitation): the account and user acting. */
  accountId?: string;
  userId?: string;
  userEmail?: string;
}

/** An entry as stored and as streamed to subscribers (plain JSON, so it can cross Redis). */
export interface AuditEntryEvent {
  id: string;
  accountId: string;
  userId: string | null;
  userEmail: string | null;
  action: string;
  feature: string | null;
  objectType: string | null;
  objectId: string | null;
  diff: Record<string, unknown> | null;
  ip: string | null;
  createdAt: string;
}

export interface Tx {
  em: EntityManager;
  audit(entry: AuditInput): void;
}

export interface MutateOptions<T> {
  /**
   * Whose cached viewers the committed change makes stale (rights, status, sessions), from the
   * mutation's result; null: none. Announced before the entries are published, see `mutate`.
   */
  announce?: (value: T) => ViewerChange | null;
  /**
   * Sessions the change ended (logout, a user disabled or deleted): published on
   * `sessionsRevoked`, which closes their sockets (ws.ts), before the announcement and the entries.
   */
  revoke?: (value: T) => ViewerChange | null;
}

/**
 * Runs one mutation: its changes and its history entries commit in one transaction, or neither
 * does; subscribers hear of the entries only after the commit.
 *
 * A change of a viewer (`announce`) is announced before the entries are published: the local
 * cache drops them at once and `viewerChanged` goes out before `audit` on the same Redis
 * connection, which keeps their order on every process. So the entry of the change that lowers
 * someone's rights is re-checked (src/realtime/live.ts) against their new rights, not the old ones.
 * The mutation answers once the announcement went round (viewer.cache.ts).
 */
export async function mutate<T>(
  ctx: Context,
  fn: (tx: Tx) => Promise<T>,
  opts: MutateOptions<T> = {},
): Promise<T> {
  const entries: AuditEntryRow[] = [];
  const result = await ctx.em
    .transactional(async (em) => {
      const pending: AuditInput[] = [];
      const value = await fn({ em, audit: (e) => pending.push(e) });
      for (const e of pending) {
        const accountId = e.accountId ?? ctx.viewer?.accountId;
        if (!accountId) throw new Error(`audit entry ${e.action} has no account`);
        entries.push(
          em.create(AuditEntry, {
            account: accountId,
            userId: e.userId ?? ctx.viewer?.userId ?? null,
            userEmail: e.userEmail ?? ctx.viewer?.email ?? null,
            action: e.action,
            feature: e.feature,
            objectType: e.objectType ?? null,
            objectId: e.objectId ?? null,
            diff: e.diff ?? null,
            ip: ctx.ip,
            createdAt: new Date(),
          }),
        );
      }
      return value;
    })
    .catch((err: unknown) => {
      throw lostUniqueRace(err) ?? err;
    });
  const revoked = opts.revoke?.(result) ?? null;
  if (revoked) ctx.app.pubsub.publish('sessionsRevoked', revoked);
  const change = opts.announce?.(result) ?? null;
  // announce drops and publishes synchronously; only its wait for the echo is awaited below.
  const announced = change ? viewerCache(ctx.app).announce(change) : null;
  for (const entry of entries) {
    const event = toEvent(entry);
    ctx.app.pubsub.publish('audit', event.accountId, event);
  }
  await announced;
  return result;
}

/**
 * Services check uniqueness first for a friendly answer, but two concurrent writes can both pass
 * the check; the unique index then refuses the loser, which must get the same answer, not a
 * masked internal error.
 */
const UNIQUE_CONFLICTS: Record<string, () => AppError> = {
  app_user_live_email_unique: () => conflict('A user with this email already exists', { field: 'email' }),
  // Two submissions of one contact to a one-answer survey, with different keys, at once.
  form_submission_one_per_contact: () =>
    conflict('You have already answered this survey', { reason: 'ALREADY_ANSWERED' }),
};

function lostUniqueRace(err: unknown): AppError | null {
  if (!isUniqueViolation(err)) return null;
  const make = UNIQUE_CONFLICTS[(err as { constraint?: string }).constraint ?? ''];
  return make ? make() : null;
}

export function toEvent(e: AuditEntryRow): AuditEntryEvent {
  return {
    id: String(e.id),
    accountId: typeof e.account === 'string' ? e.account : e.account.id,
    userId: e.userId ?? null,
    userEmail: e.userEmail ?? null,
    action: e.action,
    feature: e.feature ?? null,
    objectType: e.objectType ?? null,
    objectId: e.objectId ?? null,
    diff: e.diff ?? null,
    ip: e.ip ?? null,
    createdAt: new Date(e.createdAt).toISOString(),
  };
}

/** `{ field: { from, to } }` for the keys whose value changed. */
export function diffOf<T extends object>(
  before: T,
  after: Partial<T>,
): Record<string, { from: unknown; to: unknown }> {
  const diff: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of Object.keys(after) as (keyof T)[]) {
    const from = before[key];
    const to = after[key];
    if (to !== undefined && JSON.stringify(from) !== JSON.stringify(to)) diff[key as string] = { from, to };
  }
  return diff;
}

export interface AuditFilter {
  userId?: string | null;
  feature?: Feature | null;
  action?: string | null;
  objectType?: string | null;
  objectId?: string | null;
  from?: Date | null;
  to?: Date | null;
}

/** A user reads their own history; reading anyone else's needs USERS >= GUEST. */
export function canReadOthersHistory(ctx: Context): boolean {
  return ctx.viewer !== null && atLeast(ctx.viewer.rights.USERS, 'GUEST');
}

const MAX_BIGINT = 9223372036854775807n;
const isEntryId = (s: string) => /^[1-9]\d{0,18}$/.test(s) && BigInt(s) <= MAX_BIGINT;

/** The features whose data the viewer may see in history entries (GUEST or above). */
const readableFeatures = (rights: Rights) => FEATURES.filter((f) => atLeast(rights[f], 'GUEST'));

export async function listAudit(
  ctx: Context & { viewer: NonNullable<Context['viewer']> },
  filter: AuditFilter,
  first: number | null | undefined,
  after: string | null | undefined,
): Promise<Page<AuditEntryEvent>> {
  const size = pageSize(first);
  const afterId = decodeCursor(after);
  let userId = filter.userId ?? null;
  if (!canReadOthersHistory(ctx)) {
    if (userId && userId !== ctx.viewer.userId) {
      throw forbidden("Reading another user's history needs USERS at GUEST or above");
    }
    userId = ctx.viewer.userId;
  }
  const where: string[] = ['account_id = ?'];
  const params: unknown[] = [ctx.viewer.accountId];
  const add = (sql: string, value: unknown) => {
    where.push(sql);
    params.push(value);
  };
  // No user has a non-uuid id: an empty page, and the (account, user, id) index stays usable.
  if (userId && !isUuid(userId)) return { nodes: [], hasNextPage: false, endCursor: null };
  if (userId) add('user_id = ?', userId);
  if (filter.feature) add('feature = ?', filter.feature);
  if (filter.action) add('action = ?', filter.action);
  if (filter.objectType) add('object_type = ?', filter.objectType);
  if (filter.objectId) {
    add('object_id = ?', filter.objectId);
    // objectId is hidden in entries of features the viewer cannot read (audit.schema.ts): filtering
    // on it there would tell which objects have entries.
    const readable = readableFeatures(ctx.viewer.rights);
    if (readable.length) add('(feature is null or feature in (?))', readable);
    else where.push('feature is null');
  }
  if (filter.from) add('created_at >= ?', filter.from);
  if (filter.to) add('created_at < ?', filter.to);
  if (afterId) {
    // An entry id is a positive bigint: anything else (a forged or truncated cursor) would reach
    // PostgreSQL as an out-of-range value and fail there.
    if (!isEntryId(afterId)) throw badInput('after: not a cursor returned by this API');
    add('id < ?', afterId);
  }
  params.push(size + 1);
  const rows = await ctx.em.getConnection().execute<Record<string, unknown>[]>(
    `select id, account_id, user_id, user_email, action, feature, object_type, object_id, diff, ip, created_at
       from audit_entry where ${where.join(' and ')} order by id desc limit ?`,
    params,
  );
  const events = rows.map(
    (r): AuditEntryEvent => ({
      id: String(r.id),
      accountId: r.account_id as string,
      userId: (r.user_id as string | null) ?? null,
      userEmail: (r.user_email as string | null) ?? null,
      action: r.action as string,
      feature: (r.feature as string | null) ?? null,
      objectType: (r.object_type as string | null) ?? null,
      objectId: (r.object_id as string | null) ?? null,
      diff: (r.diff as Record<string, unknown> | null) ?? null,
      ip: (r.ip as string | null) ?? null,
      createdAt: new Date(r.created_at as string).toISOString(),
    }),
  );
  return toPage(events, size, (e) => e.id);
}
