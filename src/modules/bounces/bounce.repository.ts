import type { EntityManager } from '@mikro-orm/postgresql';
import type { BounceClassification } from './classifier/classify.js';

/**
 * A stored bounce as served by the API and streamed to subscribers (plain JSON: crosses Redis):
 * the classification of one recipient, where it was recorded and when. `recipient` is null when
 * the message named none.
 */
export type BounceEvent = Omit<BounceClassification, 'feedbackType'> & {
  id: string;
  accountId: string;
  contactId: string | null;
  receivedAt: string;
};

/** A bounce row as stored (selected with BOUNCE_COLUMNS). */
export interface BounceSqlRow extends Omit<BounceClassification, 'feedbackType' | 'replyCode' | 'recipient'> {
  id: string;
  account_id: string;
  contact_id: string | null;
  recipient: string | null;
  received_at: Date | string;
  reply_code: string | null;
}

/** One row to insert. */
export type NewBounce = Omit<BounceSqlRow, 'id' | 'account_id' | 'received_at'> & {
  received_at: string;
  /** The operation the bounced message belonged to, when it says so. */
  operation_id?: string | null;
};

export const BOUNCE_COLUMNS = `id::text, account_id, contact_id::text, recipient, received_at, status, reply_code, reason, hard, type, diagnostic`;

export function toBounceEvent(r: BounceSqlRow): BounceEvent {
  return {
    id: r.id,
    accountId: r.account_id,
    contactId: r.contact_id,
    recipient: r.recipient,
    receivedAt: new Date(r.received_at).toISOString(),
    status: r.status,
    replyCode: r.reply_code,
    reason: r.reason,
    hard: r.hard,
    type: r.type,
    diagnostic: r.diagnostic,
  };
}

const byId = (a: BounceEvent, b: BounceEvent) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1);

/** One set-based insert; returns the stored rows in insertion (id) order. */
export async function insertBounces(
  em: EntityManager,
  accountId: string,
  rows: NewBounce[],
): Promise<BounceEvent[]> {
  const stored = await em.execute<BounceSqlRow[]>(
    `insert into bounce (account_id, contact_id, recipient, received_at, status, reply_code, reason, hard, type, diagnostic, operation_id)
     select ?, x.contact_id, x.recipient, x.received_at, x.status, x.reply_code, x.reason, x.hard, x.type, x.diagnostic, x.operation_id
       from jsonb_to_recordset(?::jsonb) as x(contact_id bigint, recipient text, received_at timestamptz, status text,
            reply_code text, reason text, hard boolean, type text, diagnostic text, operation_id uuid)
     returning ${BOUNCE_COLUMNS}`,
    [accountId, JSON.stringify(rows)],
    'all',
  );
  return stored.map(toBounceEvent).sort(byId);
}

/** A contact a bounce is about, locked until the transaction ends, with its current last bounce. */
export interface BouncedContact {
  id: string;
  email: string;
  email_status: string;
  last_bounce_id: string | null;
  last_received_at: Date | null;
}

/**
 * The account's contacts whose email (case-insensitively) is one of `emails`, locked FOR UPDATE:
 * two bounces recorded at once for the same contact then apply one after the other, so the last
 * bounce and the status never go back to an older message.
 */
export async function lockContactsByEmail(
  em: EntityManager,
  accountId: string,
  emails: string[],
): Promise<BouncedContact[]> {
  if (emails.length === 0) return [];
  return em.execute<BouncedContact[]>(
    `select c.id::text, lower(c.email) as email, c.email_status, c.last_bounce_id::text, lb.received_at as last_received_at
       from contact c left join bounce lb on lb.id = c.last_bounce_id
      where c.account_id = ? and lower(c.email) in (select jsonb_array_elements_text(?::jsonb))
      order by c.id
      for update of c`,
    [accountId, JSON.stringify(emails)],
    'all',
  );
}

/** The contact a return path (VERP) names, locked as lockContactsByEmail locks; [] when gone. */
export async function lockContactById(
  em: EntityManager,
  accountId: string,
  id: string,
): Promise<BouncedContact[]> {
  return em.execute<BouncedContact[]>(
    `select c.id::text, lower(c.email) as email, c.email_status, c.last_bounce_id::text, lb.received_at as last_received_at
       from contact c left join bounce lb on lb.id = c.last_bounce_id
      where c.account_id = ? and c.id = ?
      for update of c`,
    [accountId, id],
    'all',
  );
}

/**
 * Sets the status and last bounce of contacts locked by lockContactsByEmail, in id order (the
 * order of every multi-row contact lock), so the UPDATE never takes a row out of that order.
 */
export async function updateContactBounceState(
  em: EntityManager,
  accountId: string,
  changes: { id: string; email_status: string; last_bounce_id: string | null }[],
): Promise<void> {
  if (changes.length === 0) return;
  const ordered = [...changes].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  await em.execute(
    `update contact c set email_status = x.email_status, last_bounce_id = x.last_bounce_id, updated_at = now()
       from jsonb_to_recordset(?::jsonb) as x(id bigint, email_status text, last_bounce_id bigint)
      where c.account_id = ? and c.id = x.id`,
    [JSON.stringify(ordered), accountId],
    'run',
  );
}

/** Bounces by id (a page of contacts' last bounces), in one query. */
export async function bouncesByIds(
  em: EntityManager,
  accountId: string,
  ids: string[],
): Promise<Map<string, BounceEvent>> {
  const rows = await em.execute<BounceSqlRow[]>(
    `select ${BOUNCE_COLUMNS} from bounce where account_id = ? and id in (select jsonb_array_elements_text(?::jsonb)::bigint)`,
    [accountId, JSON.stringify(ids)],
  );
  return new Map(rows.map((r) => [r.id, toBounceEvent(r)]));
}

/**
 * The first `limit` bounces of each contact, newest first (received_at, then id), after the
 * bounce `afterId` when given: one lateral query for a whole page of contacts.
 */
export async function bouncesOfContacts(
  em: EntityManager,
  accountId: string,
  contactIds: string[],
  limit: number,
  afterId: string | null,
): Promise<Map<string, BounceEvent[]>> {
  const params: unknown[] = [JSON.stringify(contactIds), accountId];
  let keyset = '';
  if (afterId) {
    keyset = `and (b.received_at, b.id) < (select a.received_at, a.id from bounce a where a.account_id = ? and a.id = ?)`;
    params.push(accountId, afterId);
  }
  params.push(limit);
  const rows = await em.execute<BounceSqlRow[]>(
    `select b.* from jsonb_array_elements_text(?::jsonb) as k(contact_id)
       cross join lateral (
         select ${BOUNCE_COLUMNS}, received_at as sort_at, id as sort_id from bounce b
          where b.account_id = ? and b.contact_id = k.contact_id::bigint ${keyset}
          order by b.received_at desc, b.id desc limit ?
       ) b
      order by b.contact_id, b.sort_at desc, b.sort_id desc`,
    params,
  );
  const out = new Map<string, BounceEvent[]>();
  for (const r of rows) {
    const list = out.get(r.contact_id as string) ?? [];
    list.push(toBounceEvent(r));
    out.set(r.contact_id as string, list);
  }
  return out;
}
