import type pg from 'pg';
import { inPoolTransaction } from '../../db/pool-tx.js';
import { eventCode } from './event.entity.js';
import { BURST_LINKS, BURST_SECONDS, SEND_WINDOW_SECONDS } from './tracking.machine.js';

/** One tracked open or click, as the writer hands it over. */
export interface HitRow {
  account_id: string;
  contact_id: string;
  type: number;
  operation_id: string | null;
  url: string | null;
  /** Already known machine-made from the request (user agent, address). */
  machine: boolean;
}

const SENT = eventCode('EMAIL_SENT');
const CLICK = eventCode('EMAIL_CLICK');

/** The key of a hit's contact in stageHits' answer. */
export const hitKey = (accountId: string, contactId: string) => `${accountId}/${contactId}`;

/**
 * Commits a batch of hits (of any accounts) to tracking_hit, the trigger-less staging table, and
 * returns the hitKey of each contact that got them: only contacts of the hit's account, each a
 * primary-key probe (a scalar subquery: as a semi-join, with the recordset's 100-row estimate, the
 * planner hashed every contact). Nothing else runs here: the machine timing rules and
 * contact_event's triggers run when moveStagedHits moves the hits, behind the answers.
 */
export async function stageHits(db: pg.Pool, hits: HitRow[]): Promise<Set<string>> {
  const { rows } = await db.query<{ a: string; c: string }>({
    // Named: prepared once per session, its plan kept (the text is the same for every batch).
    name: 'cible_tracking_stage',
    text: `insert into tracking_hit (account_id, contact_id, type, occurred_at, operation_id, url, machine)
           select x.account_id, x.contact_id, x.type, now(), x.operation_id, x.url, x.machine
             from jsonb_to_recordset($1::jsonb)
                  as x(account_id uuid, contact_id bigint, type smallint, operation_id uuid, url text, machine boolean)
            where (select c.account_id from contact c where c.id = x.contact_id) = x.account_id
           returning account_id::text as a, contact_id::text as c`,
    values: [JSON.stringify(hits)],
  });
  return new Set(rows.map((r) => hitKey(r.a, r.c)));
}

/**
 * Moves up to `limit` staged hits into contact_event in one statement and returns how many it
 * took. As insertEvents: only contacts of the hit's account (a contact deleted since its hit
 * drops it, as its events were deleted), key-share locked in id order (contact.locks.ts), events
 * in the order of the hits. On top, the timing rules of tracking.machine.ts, decided here where
 * the facts are, against each hit's own time (occurred_at, not the move's):
 * - `sent`: a hit on an operation sent to its contact less than SEND_WINDOW_SECONDS before it (its
 *   EMAIL_SENT event, or its recipient row's sent_at), or not recorded yet (the recipient row
 *   still CLAIMED: the message is handed over, the worker has not written its outcome, and a
 *   gateway scanner is already fetching);
 * - `burst`: a contact's clicks on BURST_LINKS distinct links of one operation within
 *   BURST_SECONDS, the ones already in contact_event (since BURST_SECONDS before the batch's
 *   first click of that contact) and the batch's together. The burst's earlier clicks, recorded
 *   as human before the burst showed, are flagged too (`upd`; the UPDATE trigger of
 *   Migration20261203060000_MachineEvents moves them to the machine counts).
 * Each lookup is an index range scan over the seconds before one hit of one contact (or a
 * primary-key read of operation_recipient), so a human hit costs a few index probes that find
 * nothing. Callers serialise moves (tracking.writer.ts), so a burst split over two concurrent
 * moves cannot go unseen.
 */
export async function moveStagedHits(db: pg.ClientBase, limit: number): Promise<number> {
  // Every lookup is written to run per hit (a scalar subquery, or a LATERAL with OFFSET 0 that
  // the planner cannot flatten): flattened into joins, they became hash joins that read every
  // contact of the account and every recent event of its index range on each statement.
  const { rows } = await db.query<{ n: number }>({
    name: 'cible_tracking_move',
    text: `with h as (delete from tracking_hit where ctid = any(array(select ctid from tracking_hit limit $1))
                      returning *),
          ok as (select id, account_id from contact where id = any(array(select distinct contact_id from h))
                  order by id for key share),
          y as (select h.*, h.machine or (h.operation_id is not null and (
                  (select true from operation_recipient r
                    where r.operation_id = h.operation_id and r.contact_id = h.contact_id and r.account_id = h.account_id
                      and (r.status = 'CLAIMED'
                           or r.sent_at > h.occurred_at - make_interval(secs => ${SEND_WINDOW_SECONDS}))) is not null
                  or (select true from contact_event s
                       where s.account_id = h.account_id and s.contact_id = h.contact_id and s.type = ${SENT}
                         and s.occurred_at > h.occurred_at - make_interval(secs => ${SEND_WINDOW_SECONDS})
                         and s.operation_id = h.operation_id limit 1) is not null)) as m
                  from h join ok on ok.id = h.contact_id and ok.account_id = h.account_id),
          c as (select account_id, contact_id, operation_id, min(occurred_at) as since from y
                 where type = ${CLICK} and operation_id is not null group by 1, 2, 3),
          recent as (select c.contact_id, c.operation_id, e.id, e.url, e.machine from c
                       cross join lateral (select e.id, e.url, e.machine from contact_event e
                                            where e.account_id = c.account_id and e.contact_id = c.contact_id
                                              and e.type = ${CLICK} and e.operation_id = c.operation_id
                                              and e.occurred_at > c.since - make_interval(secs => ${BURST_SECONDS})
                                            offset 0) e),
          burst as (select contact_id, operation_id from (
                      select contact_id, operation_id, url from y where type = ${CLICK} and operation_id is not null
                      union all
                      select contact_id, operation_id, url from recent) l
                     group by contact_id, operation_id having count(distinct url) >= ${BURST_LINKS}),
          ins as (insert into contact_event (account_id, contact_id, type, occurred_at, operation_id, url, machine)
                  select y.account_id, y.contact_id, y.type, y.occurred_at, y.operation_id, y.url,
                         y.m or (y.type = ${CLICK} and exists (select 1 from burst b
                                   where b.contact_id = y.contact_id and b.operation_id = y.operation_id))
                    from y order by y.occurred_at),
          upd as (update contact_event e set machine = true
                   where e.id = any(array(select r.id from recent r join burst b using (contact_id, operation_id)
                                           where not r.machine)))
     select count(*)::int as n from h`,
    values: [limit],
  });
  return rows[0].n;
}

/**
 * One move (moveStagedHits) in its own transaction, after the advisory lock that serialises moves
 * across processes: the statement's snapshot is taken once the lock is held, so it sees what the
 * move before it wrote (a burst split over two moves is seen) and every hit committed before the
 * call. A caller that must see its hits in contact_event at once (a test) calls it itself.
 */
export function moveHits(db: pg.Pool, limit = 20_000): Promise<number> {
  return inPoolTransaction(db, async (client) => {
    await client.query(`select pg_advisory_xact_lock(hashtextextended('cible:tracking-move', 0))`);
    return moveStagedHits(client, limit);
  });
}
