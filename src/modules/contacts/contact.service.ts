import type { EntityManager } from '@mikro-orm/postgresql';
import type { GraphQLResolveInfo } from 'graphql';
import type { AuthedContext } from '../../context.js';
import { badInput, conflict, isUniqueViolation, notFound } from '../../shared/errors.js';
import { isRowId } from '../../shared/ids.js';
import { decodeCursor, type Page, pageSize, toPage } from '../../shared/pagination.js';
import { clip } from '../../shared/text.js';
import { mutate } from '../audit/audit.service.js';
import { eraseSubmissionsOf } from '../forms/form.erasure.js';
import { forgetMailToContacts } from '../mail/mail.queue.js';
import { Params } from '../targeting/criterion.compile.js';
import { eraseWebhookPayloadsOf } from '../webhooks/webhook.erasure.js';
import { CONTACT_COLUMNS, pageColumns } from './contact.columns.js';
import type { FieldType } from './contact.entity.js';
import { contactWrite } from './contact.locks.js';
import { type ContactInput, normaliseContact } from './contact.normalise.js';
import { readRows, writeContacts } from './contact.repository.js';
import { FIELD_NAME, loadFields, STANDARD_FIELDS } from './fields.js';

/** A contact as read from SQL (snake_case columns), the shape GraphQL resolves from. */
export interface ContactView {
  id: string;
  account_id: string;
  email: string | null;
  phone: string | null;
  first_name: string | null;
  last_name: string | null;
  gender: string | null;
  birth_date: string | null;
  city: string | null;
  department: string | null;
  country: string | null;
  fields: Record<string, string | boolean>;
  email_status: string;
  sms_status: string;
  last_bounce_id: string | null;
  created_at: Date;
  updated_at: Date;
}

export const MAX_DELETE = 1000;
const SELECT = `select ${CONTACT_COLUMNS.join(', ')} from contact c`;

/** `lock`: FOR UPDATE, for a read-modify-write of the contact (its diff must be of what it replaces). */
export async function findContact(
  em: EntityManager,
  accountId: string,
  id: string,
  lock = false,
): Promise<ContactView> {
  const rows = isRowId(id)
    ? await em.execute<ContactView[]>(
        `${SELECT} where account_id = ? and id = ?${lock ? ' for update' : ''}`,
        [accountId, id],
        'all',
      )
    : [];
  if (!rows[0]) throw notFound('Contact');
  return rows[0];
}

/** Contacts of the account by id (unknown ids are absent), in one query. */
export async function findContacts(
  em: EntityManager,
  accountId: string,
  ids: readonly string[],
): Promise<Map<string, ContactView>> {
  const rows = await em.execute<ContactView[]>(
    `${SELECT} where account_id = ? and id in (select jsonb_array_elements_text(?::jsonb)::bigint)`,
    [accountId, JSON.stringify(ids.filter(isRowId))],
    'all',
  );
  return new Map(rows.map((r) => [r.id, r]));
}

export async function createContact(ctx: AuthedContext, input: ContactInput): Promise<ContactView> {
  return contactWrite(ctx, async ({ em, audit }, settings) => {
    const fields = await loadFields(em, ctx.viewer.accountId);
    const row = normaliseContact(input, fields, settings.uniqueKey);
    const [result] = await writeContacts(em, ctx.viewer.accountId, [row], settings.rejectDuplicates);
    if (result.outcome === 'DUPLICATE') {
      throw conflict(
        `A contact with this ${settings.uniqueKey} already exists (contact ${result.contactId})`,
        {
          field: settings.uniqueKey,
          existingContactId: result.contactId,
        },
      );
    }
    audit({
      action: result.outcome === 'CREATED' ? 'createContact' : 'mergeContact',
      feature: 'CONTACTS',
      objectType: 'Contact',
      objectId: result.contactId,
      diff: { ...row.columns, ...row.custom },
    });
    return findContact(em, ctx.viewer.accountId, result.contactId);
  });
}

export async function updateContact(
  ctx: AuthedContext,
  id: string,
  input: ContactInput,
): Promise<ContactView> {
  return contactWrite(ctx, async ({ em, audit }, settings) => {
    const before = await findContact(em, ctx.viewer.accountId, id, true);
    const fields = await loadFields(em, ctx.viewer.accountId);
    const row = normaliseContact(input, fields, settings.uniqueKey);
    const sets = Object.keys(row.columns).map((c) => `${c} = ?`);
    const params: unknown[] = Object.values(row.columns);
    const keyGiven = STANDARD_FIELDS[settings.uniqueKey]
      ? STANDARD_FIELDS[settings.uniqueKey].column in row.columns
      : Object.hasOwn(row.custom, settings.uniqueKey);
    if (keyGiven) {
      sets.push('unique_value = ?');
      params.push(row.uniqueValue);
    }
    sets.push(`fields = jsonb_strip_nulls(fields || ?::jsonb)`, 'updated_at = now()');
    params.push(JSON.stringify(row.custom), ctx.viewer.accountId, id);
    if (keyGiven && row.uniqueValue !== null) {
      const [other] = await em.execute<{ id: string }[]>(
        'select id::text from contact where account_id = ? and unique_value = ? and id <> ?',
        [ctx.viewer.accountId, row.uniqueValue, id],
        'all',
      );
      if (other) {
        throw conflict(`Another contact already has this ${settings.uniqueKey} (contact ${other.id})`, {
          field: settings.uniqueKey,
          existingContactId: other.id,
        });
      }
    }
    try {
      await em.execute(
        `update contact set ${sets.join(', ')} where account_id = ? and id = ?`,
        params,
        'run',
      );
    } catch (err) {
      // A concurrent write took the value between the check and the update.
      if (isUniqueViolation(err))
        throw conflict(`Another contact already has this ${settings.uniqueKey}`, {
          field: settings.uniqueKey,
        });
      throw err;
    }
    const after = await findContact(em, ctx.viewer.accountId, id);
    const diff: Record<string, { from: unknown; to: unknown }> = {};
    for (const k of Object.keys(row.columns)) {
      const from = before[k as keyof ContactView] ?? null;
      const to = after[k as keyof ContactView] ?? null;
      if (JSON.stringify(from) !== JSON.stringify(to)) diff[k] = { from, to };
    }
    for (const k of Object.keys(row.custom)) {
      if (JSON.stringify(before.fields[k] ?? null) !== JSON.stringify(after.fields[k] ?? null)) {
        diff[k] = { from: before.fields[k] ?? null, to: after.fields[k] ?? null };
      }
    }
    audit({ action: 'updateContact', feature: 'CONTACTS', objectType: 'Contact', objectId: id, diff });
    return after;
  });
}

/** Deletes contacts of the account with their events and bounces; unknown ids are ignored. */
export async function deleteContacts(ctx: AuthedContext, ids: readonly string[]): Promise<string[]> {
  if (ids.length > MAX_DELETE) throw badInput(`deleteContacts takes at most ${MAX_DELETE} ids`);
  const valid = ids.filter(isRowId);
  if (valid.length === 0) return [];
  return contactWrite(ctx, async ({ em, audit }) => {
    const conn = em;
    const json = JSON.stringify(valid);
    // Contact rows locked in id order (the DELETE alone locks them in the order of its plan, and
    // two deletes of overlapping sets in different orders deadlock), then what their form
    // submissions and webhook deliveries say about them erased while those still name them, and
    // mails to them not sent yet forgotten.
    await conn.execute(
      'select id from contact where account_id = ? and id in (select jsonb_array_elements_text(?::jsonb)::bigint) order by id for update',
      [ctx.viewer.accountId, json],
      'all',
    );
    await eraseSubmissionsOf(conn, ctx.viewer.accountId, json);
    await forgetMailToContacts(conn, ctx.viewer.accountId, json);
    await eraseWebhookPayloadsOf(conn, ctx.viewer.accountId, json);
    const deleted = await conn.execute<{ id: string }[]>(
      `delete from contact where id in (
         select id from contact where account_id = ? and id in (select jsonb_array_elements_text(?::jsonb)::bigint)
          order by id for update)
       returning id::text`,
      [ctx.viewer.accountId, json],
      'all',
    );
    if (deleted.length) {
      const gone = JSON.stringify(deleted.map((d) => d.id));
      await conn.execute(
        `delete from contact_event where account_id = ? and contact_id in (select jsonb_array_elements_text(?::jsonb)::bigint)`,
        [ctx.viewer.accountId, gone],
        'run',
      );
      await conn.execute(
        `delete from bounce where account_id = ? and contact_id in (select jsonb_array_elements_text(?::jsonb)::bigint)`,
        [ctx.viewer.accountId, gone],
        'run',
      );
      // Through the primary key (score_id, contact_id): the account's scores times these contacts.
      await conn.execute(
        `delete from contact_score where score_id in (select id from score where account_id = ?)
            and contact_id in (select jsonb_array_elements_text(?::jsonb)::bigint)`,
        [ctx.viewer.accountId, gone],
        'run',
      );
    }
    for (const d of deleted)
      audit({ action: 'deleteContacts', feature: 'CONTACTS', objectType: 'Contact', objectId: d.id });
    return deleted.map((d) => d.id);
  });
}

export interface ContactFilter {
  search?: string | null;
  emailStatus?: string | null;
  country?: string | null;
  city?: string | null;
}

export const CONTACT_ORDERS = {
  ID: 'c.id',
  EMAIL: 'c.email',
  LAST_NAME: 'c.last_name',
  CREATED_AT: 'c.created_at',
} as const;
export type ContactOrder = keyof typeof CONTACT_ORDERS;

/**
 * Which contacts of a page, beyond the filter: a criterion compiled by the targeting module
 * (segment members), and the runner its statement goes through (a statement timeout, cancelled
 * when the client goes away). `where` adds its values to the statement's parameters.
 */
export interface PageTarget {
  where: (params: Params) => string;
  run?: <T>(sql: string, params: unknown[]) => Promise<T[]>;
}

/** Keyset pagination over (sort key, id): stable under concurrent writes, no OFFSET. */
export async function listContacts(
  ctx: AuthedContext,
  filter: ContactFilter,
  order: { field: ContactOrder; desc: boolean },
  first?: number | null,
  after?: string | null,
  /** The resolver's info: only the columns its selection reads are fetched (contact.columns.ts). */
  info?: GraphQLResolveInfo,
  target?: PageTarget,
): Promise<Page<ContactView>> {
  const size = pageSize(first);
  const params = new Params();
  const where = [`c.account_id = ${params.add(ctx.viewer.accountId, 'uuid')}`];
  if (filter.search) {
    const like = params.add(`%${filter.search.replace(/[\\%_]/g, (m) => `\\${m}`).toLowerCase()}%`, 'text');
    where.push(
      `(lower(c.email) like ${like} or lower(c.first_name) like ${like} or lower(c.last_name) like ${like} or c.phone like ${like})`,
    );
  }
  if (filter.emailStatus) where.push(`c.email_status = ${params.add(filter.emailStatus, 'text')}`);
  if (filter.country) where.push(`lower(c.country) = lower(${params.add(filter.country, 'text')})`);
  if (filter.city) where.push(`lower(c.city) = lower(${params.add(filter.city, 'text')})`);
  const col = CONTACT_ORDERS[order.field];
  // NULLs sort as the empty string / epoch so the keyset comparison stays total.
  const key = order.field === 'ID' ? 'c.id' : order.field === 'CREATED_AT' ? col : `coalesce(${col}, '')`;
  const cursor = decodeCursor(after);
  if (cursor) {
    let parsed: [string, string];
    try {
      parsed = JSON.parse(cursor);
    } catch {
      throw badInput('after: not a cursor returned by this API');
    }
    if (!Array.isArray(parsed) || !isRowId(String(parsed[1])))
      throw badInput('after: not a cursor returned by this API');
    const cmp = order.desc ? '<' : '>';
    const id = params.add(parsed[1], 'bigint');
    if (order.field === 'ID') where.push(`c.id ${cmp} ${id}`);
    // created_at::text keeps the microseconds a JavaScript Date would lose.
    else if (order.field === 'CREATED_AT')
      where.push(`(c.created_at, c.id) ${cmp} (${params.add(parsed[0], 'timestamptz')}, ${id})`);
    else where.push(`(${key}, c.id) ${cmp} (${params.add(parsed[0], 'text')}, ${id})`);
  }
  if (target) where.push(target.where(params));
  const dir = order.desc ? 'desc' : 'asc';
  const limit = params.add(size + 1, 'int');
  const orderBy = order.field === 'ID' ? `c.id ${dir}` : `${key} ${dir}, c.id ${dir}`;
  const sql = `select ${pageColumns(info).join(', ')}, ${key}::text as sort_key from contact c
      where ${where.join(' and ')} order by ${orderBy} limit ${limit}`;
  type Row = ContactView & { sort_key: string };
  // A query's page, never inside a transaction: the pool's connection, without forking ctx.em.
  const rows = target?.run
    ? await target.run<Row>(sql, params.values)
    : await readRows<Row>(ctx.app.orm.em, sql, params.values);
  return toPage(rows, size, (r) => JSON.stringify([r.sort_key, r.id]));
}

export async function defineContactField(
  ctx: AuthedContext,
  input: { name: string; label?: string | null; type: FieldType },
): Promise<{ id: string; name: string; label: string; type: FieldType }> {
  const name = input.name.trim();
  if (!FIELD_NAME.test(name))
    throw badInput('name must start with a letter and hold only letters, digits and _ (max 63)', {
      field: 'name',
    });
  if (STANDARD_FIELDS[name]) throw conflict(`${name} is a standard field`, { field: 'name' });
  // Custom values are kept in plain objects, where "constructor" or "toString" is always there.
  if (name in Object.prototype) throw badInput(`${name} is a reserved name`, { field: 'name' });
  const label = clip((input.label ?? name).trim(), 200) || name;
  return mutate(ctx, async ({ em, audit }) => {
    const rows = await em.execute<{ id: string; name: string }[]>(
      `insert into contact_field (account_id, name, label, type) values (?, ?, ?, ?) on conflict (account_id, name) do nothing returning id, name`,
      [ctx.viewer.accountId, name, label, input.type],
      'all',
    );
    if (!rows.length) throw conflict(`A field named ${name} already exists`, { field: 'name' });
    audit({
      action: 'defineContactField',
      feature: 'CONTACTS',
      objectType: 'ContactField',
      objectId: name,
      diff: { type: { from: null, to: input.type } },
    });
    return { id: rows[0].id, name, label, type: input.type };
  });
}
