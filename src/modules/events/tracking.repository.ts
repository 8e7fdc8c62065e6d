import type pg from 'pg';
import { eventCode } from './event.entity.js';
import { BURST_LINKS, BURST_SECONDS, SEND_WINDOW_SECONDS } from './tracking.machine.js';

/** One tracked open or click, as the writer hands it over. */
export interface HitRow {
  contact_id: string;
  type: number;
  operation_id: string | null;
  url: string | null;
  /** Already known machine-made from the request (user agent, address). */
  machine: boolean;
}

const SENT = eventCode('EMAIL_SENT');
const CLICK = eventCode('EMAIL_CLICK');

/**
 * Writes a batch of one account's hits in one statement, and returns the contacts that got them.
 * As insertEvents: only contacts of the account, key-share locked in id order (contact.locks.ts).
 * On top, the timing rules of tracking.machine.ts, decided here where the facts are:
 * - `sent`: a hit on an operation sent to its contact less than SEND_WINDOW_SECONDS ago (its
 *   EMAIL_SENT event, or its recipient row's sent_at, written in the same transaction), or not
 *   recorded yet (the recipient row still CLAIMED: the message is handed over, the worker has not
 *   written its outcome, and a gateway scanner is already fetching);
 * - `burst`: a contact's clicks on BURST_LINKS distinct links of one operation within
 *   BURST_SECONDS, earlier ones and this batch's together. The burst's earlier clicks, recorded as
 *   human before the burst showed, are flagged too (`upd`; the UPDATE trigger of
 *   Migration20261203060000_MachineEvents moves them to the machine counts).
 * Each lookup is an index range scan over the last seconds of one contact (or a primary-key read
 * of operation_recipient), so a human hit costs a few index probes that find nothing.
 */
export async function insertHits(db: pg.Pool, accountId: string, hits: HitRow[]): Promise<Set<string>> {
  // Every lookup is written to run per hit (a scalar subquery, or a LATERAL with OFFSET 0 that
  // the planner cannot flatten): flattened into joins, with the recordset's row estimate (100),
  // they became hash joins that read every contact of the account and every recent event of its
  // index range on each statement (5 to 10 ms at 10,000 contacts, growing with the account).
  const { rows } = await db.query<{ contact_id: string }>({
    // Named: prepared once per session, its plan kept (the text is the same for every batch).
    name: 'cible_tracking_hits',
    text: `with x as (select * from jsonb_to_recordset($1::jsonb)
                  as x(contact_id bigint, type smallint, operation_id uuid, url text, machine boolean)),
          ok as (select id from contact where account_id = $2 and id = any(array(select contact_id from x))
                  order by id for key share),
          y as (select x.*, x.machine or (x.operation_id is not null and (
                  (select true from operation_recipient r
                    where r.operation_id = x.operation_id and r.contact_id = x.contact_id and r.account_id = $2
                      and (r.status = 'CLAIMED' or r.sent_at > now() - make_interval(secs => ${SEND_WINDOW_SECONDS}))) is not null
                  or (select true from contact_event s
                       where s.account_id = $2 and s.contact_id = x.contact_id and s.type = ${SENT}
                         and s.occurred_at > now() - make_interval(secs => ${SEND_WINDOW_SECONDS})
                         and s.operation_id = x.operation_id limit 1) is not null)) as m
                  from x),
          c as (select distinct contact_id, operation_id from y where type = ${CLICK} and operation_id is not null),
          recent as (select c.contact_id, c.operation_id, e.id, e.url, e.machine from c
                       cross join lateral (select e.id, e.url, e.machine from contact_event e
                                            where e.account_id = $2 and e.contact_id = c.contact_id and e.type = ${CLICK}
                                              and e.occurred_at > now() - make_interval(secs => ${BURST_SECONDS})
                                              and e.operation_id = c.operation_id offset 0) e),
          burst as (select contact_id, operation_id from (
                      select contact_id, operation_id, url from y where type = ${CLICK} and operation_id is not null
                      union all
                      select contact_id, operation_id, url from recent) l
                     group by contact_id, operation_id having count(distinct url) >= ${BURST_LINKS}),
          ins as (insert into contact_event (account_id, contact_id, type, occurred_at, operation_id, url, machine)
                  select $2, y.contact_id, y.type, now(), y.operation_id, y.url,
                         y.m or (y.type = ${CLICK} and exists (select 1 from burst b
                                   where b.contact_id = y.contact_id and b.operation_id = y.operation_id))
                    from y join ok on ok.id = y.contact_id
                  returning contact_id),
          upd as (update contact_event e set machine = true
                   where e.id = any(array(select r.id from recent r join burst b using (contact_id, operation_id)
                                           join ok on ok.id = r.contact_id where not r.machine)))
     select distinct contact_id::text from ins`,
    values: [JSON.stringify(hits), accountId],
  });
  return new Set(rows.map((r) => r.contact_id));
}
