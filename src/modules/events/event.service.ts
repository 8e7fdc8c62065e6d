import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthedContext } from '../../context.js';
import { badInput } from '../../shared/errors.js';
import { isRowId, isUuid } from '../../shared/ids.js';
import { contactWrite, lockContacts } from '../contacts/contact.locks.js';
import { type EventType, eventCode } from './event.entity.js';

export const MAX_EVENTS = 10_000;

export interface EventInput {
  contactId: string;
  type: EventType;
  occurredAt?: Date | null;
  operationId?: string | null;
  formId?: string | null;
  url?: string | null;
}

/**
 * Appends a batch of behaviour events, all or nothing: every item is checked first (its contact
 * must belong to the account) and the errors of all bad items come back together; then one
 * INSERT ... SELECT from a JSON recordset writes them.
 */
export async function recordEvents(ctx: AuthedContext, events: readonly EventInput[]): Promise<number> {
  if (events.length === 0) return 0;
  if (events.length > MAX_EVENTS)
    throw badInput(`recordEvents takes at most ${MAX_EVENTS} events per call, got ${events.length}`);
  const errors: { index: number; message: string }[] = [];
  const now = Date.now();
  events.forEach((e, index) => {
    if (!isRowId(e.contactId))
      errors.push({ index, message: `contactId ${JSON.stringify(e.contactId)} is not a contact id` });
    if (e.occurredAt && e.occurredAt.getTime() > now + 5 * 60_000)
      errors.push({ index, message: 'occurredAt is in the future' });
    for (const k of ['operationId', 'formId'] as const) {
      const v = e[k];
      if (v && !isUuid(v)) errors.push({ index, message: `${k} is not an id` });
    }
    if (e.url && e.url.length > 2000) errors.push({ index, message: 'url is longer than 2000 characters' });
  });
  // The lock order of every contact write (contact.locks.ts): the account, then the contacts in
  // id order; rerun on a deadlock. Each run starts from the checks above, not from a lost run's.
  return contactWrite(ctx, async ({ em, audit }) => {
    const ids = [...new Set(events.map((e) => e.contactId).filter(isRowId))];
    // Key-share locked until the commit: a concurrent deleteContacts waits for these events (and
    // then deletes them too) rather than leaving them behind a deleted contact.
    const known = await lockContacts(em, ctx.viewer.accountId, ids, 'key share');
    const invalid = [...errors];
    events.forEach((e, index) => {
      if (isRowId(e.contactId) && !known.has(e.contactId)) {
        invalid.push({ index, message: `contact ${e.contactId} not found` });
      }
    });
    if (invalid.length) {
      invalid.sort((a, b) => a.index - b.index);
      throw badInput(`${invalid.length} of ${events.length} events are invalid; none was recorded`, {
        items: invalid.slice(0, 100),
      });
    }
    const rows = events.map((e) => ({
      contact_id: e.contactId,
      type: eventCode(e.type),
      occurred_at: (e.occurredAt ?? new Date()).toISOString(),
      operation_id: e.operationId ?? null,
      form_id: e.formId ?? null,
      url: e.url ?? null,
    }));
    await insertEvents(em, ctx.viewer.accountId, JSON.stringify(rows));
    const unsubscribed = events.filter((e) => e.type === 'UNSUBSCRIBE').map((e) => e.contactId);
    if (unsubscribed.length) {
      // Rows locked in id order before the UPDATE, which would lock them in its plan's order.
      await em.execute(
        `update contact set email_status = 'UNSUBSCRIBED', updated_at = now()
          where id in (select id from contact
                        where account_id = ? and id in (select jsonb_array_elements_text(?::jsonb)::bigint)
                        order by id for no key update)`,
        [ctx.viewer.accountId, JSON.stringify(unsubscribed)],
        'run',
      );
    }
    audit({
      action: 'recordEvents',
      feature: 'CONTACTS',
      objectType: 'ContactEvent',
      diff: { count: { from: 0, to: events.length } },
    });
    return events.length;
  });
}

/**
 * One set-based insert of events given as a JSON array (the API, bounces and the tracking
 * endpoints), in `em`'s transaction if it has one. Only events whose contact belongs to the
 * account are written, and those contacts are key-share locked: a concurrent deleteContacts
 * either waits and then deletes these events too, or has already removed the contact and none is
 * written. Contacts are locked in id order (contact.locks.ts). Returns the ids of the contacts
 * that got events.
 */
export async function insertEvents(em: EntityManager, accountId: string, json: string): Promise<Set<string>> {
  const rows = await em.execute<{ contact_id: string }[]>(
    `with x as (select * from jsonb_to_recordset(?::jsonb)
                  as x(contact_id bigint, type smallint, occurred_at timestamptz, operation_id uuid, form_id uuid, url text)),
          -- = any(array): probes the primary key per event; 'in (select ...)' let the planner
          -- hash-join every contact of the account (the recordset is estimated at 100 rows).
          ok as (select id from contact where account_id = ? and id = any(array(select contact_id from x))
                  order by id for key share),
          ins as (insert into contact_event (account_id, contact_id, type, occurred_at, operation_id, form_id, url)
                  select ?, x.contact_id, x.type, x.occurred_at, x.operation_id, x.form_id, x.url
                    from x join ok on ok.id = x.contact_id
                  returning contact_id)
     select distinct contact_id::text from ins`,
    [json, accountId, accountId],
    'all',
  );
  return new Set(rows.map((r) => r.contact_id));
}
