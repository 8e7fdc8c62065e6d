import type { AuthedContext } from '../../context.js';
import { badInput } from '../../shared/errors.js';
import { mutate } from '../audit/audit.service.js';
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
    if (!/^\d{1,18}$/.test(e.contactId))
      errors.push({ index, message: `contactId ${JSON.stringify(e.contactId)} is not a contact id` });
    if (e.occurredAt && e.occurredAt.getTime() > now + 5 * 60_000)
      errors.push({ index, message: 'occurredAt is in the future' });
    for (const k of ['operationId', 'formId'] as const) {
      const v = e[k];
      if (v && !UUID.test(v)) errors.push({ index, message: `${k} is not an id` });
    }
    if (e.url && e.url.length > 2000) errors.push({ index, message: 'url is longer than 2000 characters' });
  });
  return mutate(ctx, async ({ em, audit }) => {
    const conn = em;
    const ids = [...new Set(events.map((e) => e.contactId).filter((id) => /^\d{1,18}$/.test(id)))];
    const found = await conn.execute<{ id: string }[]>(
      `select id::text from contact where account_id = ? and id in (select jsonb_array_elements_text(?::jsonb)::bigint)`,
      [ctx.viewer.accountId, JSON.stringify(ids)],
      'all',
    );
    const known = new Set(found.map((f) => f.id));
    events.forEach((e, index) => {
      if (/^\d{1,18}$/.test(e.contactId) && !known.has(e.contactId)) {
        errors.push({ index, message: `contact ${e.contactId} not found` });
      }
    });
    if (errors.length) {
      errors.sort((a, b) => a.index - b.index);
      throw badInput(`${errors.length} of ${events.length} events are invalid; none was recorded`, {
        items: errors.slice(0, 100),
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
    await insertEvents(
      em.getConnection(),
      em.getTransactionContext(),
      ctx.viewer.accountId,
      JSON.stringify(rows),
    );
    const unsubscribed = events.filter((e) => e.type === 'UNSUBSCRIBE').map((e) => e.contactId);
    if (unsubscribed.length) {
      await conn.execute(
        `update contact set email_status = 'UNSUBSCRIBED', updated_at = now()
          where account_id = ? and id in (select jsonb_array_elements_text(?::jsonb)::bigint)`,
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

type Conn = ReturnType<AuthedContext['em']['getConnection']>;

/** One set-based insert of events given as a JSON array (used by the API and the tracking endpoints). */
export async function insertEvents(conn: Conn, tx: unknown, accountId: string, json: string): Promise<void> {
  await conn.execute(
    `insert into contact_event (account_id, contact_id, type, occurred_at, operation_id, form_id, url)
     select ?, x.contact_id, x.type, x.occurred_at, x.operation_id, x.form_id, x.url
       from jsonb_to_recordset(?::jsonb) as x(contact_id bigint, type smallint, occurred_at timestamptz, operation_id uuid, form_id uuid, url text)`,
    [accountId, json],
    'run',
    tx as never,
  );
}
