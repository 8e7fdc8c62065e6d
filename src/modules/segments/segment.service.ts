import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthedContext } from '../../context.js';
import { badInput, conflict, isUniqueViolation, notFound } from '../../shared/errors.js';
import { isUuid } from '../../shared/ids.js';
import { decodeCursor, type Page, pageSize, toPage } from '../../shared/pagination.js';
import { mutate } from '../audit/audit.service.js';
import { type Criterion, normaliseCriterion } from '../targeting/criterion.js';
import {
  expandSegments,
  refuseCycle,
  refuseInUse,
  refuseUnknownRefs,
  targetRefs,
} from '../targeting/criterion.refs.js';
import { loadTargetEnv, loadTargetGraph, lockTargeting, type TargetEnv } from '../targeting/target-env.js';
import { refuseBrokenReaders } from './segment.readers.js';

export const MAX_NAME = 200;
export const MAX_DESCRIPTION = 2000;
export const MAX_DELETE_SEGMENTS = 100;

export interface SegmentView {
  id: string;
  name: string;
  description: string;
  criterion: Criterion;
  createdBy: string | null;
  updatedBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface SegmentInput {
  name?: string | null;
  description?: string | null;
  criterion?: unknown;
}

const SELECT = `select s.id, s.name, s.description, s.criterion, s.created_by as "createdBy",
  s.updated_by as "updatedBy", s.created_at as "createdAt", s.updated_at as "updatedAt" from segment s`;

/** A segment of the account; NOT_FOUND for unknown ids, other accounts' included. */
export async function findSegment(
  em: EntityManager,
  accountId: string,
  id: string,
  lock = false,
): Promise<SegmentView> {
  const rows = isUuid(id)
    ? await em.execute<SegmentView[]>(
        `${SELECT} where s.account_id = ? and s.id = ?${lock ? ' for update' : ''}`,
        [accountId, id],
      )
    : [];
  if (!rows[0]) throw notFound('Segment');
  return rows[0];
}

/** Every segment of the account, by name: what Contact.segments tests membership of. */
export async function allSegments(em: EntityManager, accountId: string): Promise<SegmentView[]> {
  return em.execute<SegmentView[]>(`${SELECT} where s.account_id = ? order by s.name, s.id`, [accountId]);
}

/** Keyset pagination over (name, id), in the database's collation for both order and cursor. */
export async function listSegments(
  em: EntityManager,
  accountId: string,
  filter: { search?: string | null },
  first?: number | null,
  after?: string | null,
): Promise<Page<SegmentView>> {
  const size = pageSize(first);
  const where = ['s.account_id = ?'];
  const params: unknown[] = [accountId];
  if (filter.search) {
    if (filter.search.length > MAX_NAME) throw badInput(`filter.search: at most ${MAX_NAME} characters`);
    // Backslash is LIKE's default escape character.
    where.push('s.name ilike ?');
    params.push(`%${filter.search.replace(/[\\%_]/g, (m) => `\\${m}`)}%`);
  }
  const key = decodeCursor(after);
  if (key !== null) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(key);
    } catch {
      parsed = null;
    }
    const ok =
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[0] === 'string' &&
      parsed[0].length <= MAX_NAME &&
      typeof parsed[1] === 'string' &&
      isUuid(parsed[1]);
    if (!ok) throw badInput('after: not a cursor returned by this API');
    where.push('(s.name, s.id) > (?, ?::uuid)');
    params.push(...(parsed as [string, string]));
  }
  const rows = await em.execute<SegmentView[]>(
    `${SELECT} where ${where.join(' and ')} order by s.name, s.id limit ?`,
    [...params, size + 1],
  );
  return toPage(rows, size, (s) => JSON.stringify([s.name, s.id]));
}

function checkName(raw: string): string {
  const name = raw.trim();
  if (!name) throw badInput('name must not be empty', { field: 'name' });
  if (name.length > MAX_NAME)
    throw badInput(`name must have at most ${MAX_NAME} characters`, { field: 'name' });
  return name;
}

function checkDescription(raw: string): string {
  const description = raw.trim();
  if (description.length > MAX_DESCRIPTION)
    throw badInput(`description must have at most ${MAX_DESCRIPTION} characters`, { field: 'description' });
  return description;
}

/** Names are unique per account whatever their case (the index segment_account_name_unique). */
async function refuseTakenName(em: EntityManager, accountId: string, name: string, self?: string) {
  const [other] = await em.execute<{ id: string }[]>(
    `select id from segment where account_id = ? and lower(name) = lower(?)${self ? ' and id <> ?' : ''}`,
    self ? [accountId, name, self] : [accountId, name],
  );
  if (other)
    throw conflict(`A segment named "${name}" already exists (names ignore case)`, {
      field: 'name',
      existingSegmentId: other.id,
    });
}

/**
 * Checks a criterion for the segment `self` (absent for a new one) under lockTargeting: the
 * language and the account's ids, no cycle through segments and scores, and at most
 * MAX_EXPANDED_LEAVES conditions once the segments it names are inlined; what reads it stays
 * valid with it (segment.readers.ts).
 */
async function checkCriterion(
  em: EntityManager,
  env: TargetEnv,
  raw: unknown,
  self?: string,
): Promise<Criterion> {
  refuseUnknownRefs(raw, env);
  const criterion = normaliseCriterion(raw, env);
  if (!self) {
    // Nothing names a segment that does not exist yet: no cycle can go through it.
    expandSegments(criterion, env.segments);
    return criterion;
  }
  // The cycle check first: it follows scores too and names the whole chain.
  refuseCycle(`segment:${self}`, targetRefs(criterion), await loadTargetGraph(em, env.accountId));
  const segments = new Map(env.segments).set(self, criterion);
  expandSegments(criterion, segments);
  await refuseBrokenReaders(em, env, self, segments);
  return criterion;
}

/** The unique index is the last word if two writes raced past refuseTakenName. */
async function guardName<T>(name: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isUniqueViolation(err))
      throw conflict(`A segment named "${name}" already exists (names ignore case)`, { field: 'name' });
    throw err;
  }
}

export async function createSegment(
  ctx: AuthedContext,
  input: { name: string; description?: string | null; criterion: unknown },
): Promise<SegmentView> {
  const { accountId, userId } = ctx.viewer;
  const name = checkName(input.name);
  const description = checkDescription(input.description ?? '');
  return mutate(ctx, async ({ em, audit }) => {
    await lockTargeting(em, accountId);
    const criterion = await checkCriterion(em, await loadTargetEnv(em, accountId), input.criterion);
    await refuseTakenName(em, accountId, name);
    const [row] = await guardName(name, () =>
      em.execute<{ id: string }[]>(
        `insert into segment (account_id, name, description, criterion, created_by, updated_by)
         values (?, ?, ?, ?::jsonb, ?, ?) returning id`,
        [accountId, name, description, JSON.stringify(criterion), userId, userId],
      ),
    );
    audit({
      action: 'createSegment',
      feature: 'CONTACTS',
      objectType: 'Segment',
      objectId: row.id,
      diff: { name, description, criterion },
    });
    return findSegment(em, accountId, row.id);
  });
}

/** Changes what is given (null or absent: unchanged). */
export async function updateSegment(
  ctx: AuthedContext,
  id: string,
  input: SegmentInput,
): Promise<SegmentView> {
  const { accountId, userId } = ctx.viewer;
  if (!isUuid(id)) throw notFound('Segment');
  return mutate(ctx, async ({ em, audit }) => {
    await lockTargeting(em, accountId);
    const before = await findSegment(em, accountId, id, true);
    const diff: Record<string, { from: unknown; to: unknown }> = {};
    const sets: string[] = [];
    const params: unknown[] = [];
    if (input.name != null) {
      const name = checkName(input.name);
      if (name.toLowerCase() !== before.name.toLowerCase()) await refuseTakenName(em, accountId, name, id);
      if (name !== before.name) diff.name = { from: before.name, to: name };
      sets.push('name = ?');
      params.push(name);
    }
    if (input.description != null) {
      const description = checkDescription(input.description);
      if (description !== before.description)
        diff.description = { from: before.description, to: description };
      sets.push('description = ?');
      params.push(description);
    }
    if (input.criterion != null) {
      const env = await loadTargetEnv(em, accountId);
      const criterion = await checkCriterion(em, env, input.criterion, id);
      if (JSON.stringify(criterion) !== JSON.stringify(before.criterion))
        diff.criterion = { from: before.criterion, to: criterion };
      sets.push('criterion = ?::jsonb');
      params.push(JSON.stringify(criterion));
    }
    sets.push('updated_by = ?', 'updated_at = clock_timestamp()');
    params.push(userId);
    await guardName(input.name?.trim() ?? '', () =>
      em.execute(`update segment set ${sets.join(', ')} where id = ?`, [...params, id]),
    );
    audit({ action: 'updateSegment', feature: 'CONTACTS', objectType: 'Segment', objectId: id, diff });
    return findSegment(em, accountId, id);
  });
}

/** Deletes segments of the account; unknown ids (other accounts' too) are skipped, as deleteScores does. */
export async function deleteSegments(ctx: AuthedContext, ids: readonly string[]): Promise<string[]> {
  if (ids.length > MAX_DELETE_SEGMENTS)
    throw badInput(`deleteSegments takes at most ${MAX_DELETE_SEGMENTS} ids`);
  const wanted = [...new Set(ids.filter(isUuid).map((i) => i.toLowerCase()))];
  if (!wanted.length) return [];
  const { accountId } = ctx.viewer;
  return mutate(ctx, async ({ em, audit }) => {
    // The "still used" check reads the whole graph: no definition may change under it.
    await lockTargeting(em, accountId);
    const found = await em.execute<{ id: string; name: string; criterion: Criterion }[]>(
      'select id, name, criterion from segment where account_id = ? and id in (?) order by id for update',
      [accountId, wanted],
    );
    if (!found.length) return [];
    refuseInUse(
      await loadTargetGraph(em, accountId),
      found.map((f) => `segment:${f.id}` as const),
    );
    await em.execute('delete from segment where id in (?)', [found.map((f) => f.id)]);
    for (const f of found)
      audit({
        action: 'deleteSegment',
        feature: 'CONTACTS',
        objectType: 'Segment',
        objectId: f.id,
        diff: { name: f.name, criterion: f.criterion },
      });
    return found.map((f) => f.id);
  });
}
