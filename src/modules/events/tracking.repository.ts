import type { EntityManager } from '@mikro-orm/postgresql';
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
export async function insertHits(em: EntityManager, accountId: string, hits: HitRow[]): Promise<Set<string>> {
  const rows = await em.execute<{ contact_id: string }[]>(
    `with x as (select * from jsonb_to_recordset(?::jsonb)
                  as x(contact_id bigint, type smallint, operation_id uuid, url text, machine boolean)),
          ok as (select id from contact where account_id = ? and id in (select contact_id from x)
                  order by id for key share),
          y as (select x.*, x.machine or (x.operation_id is not null and (
                  exists (select 1 from operation_recipient r
                           where r.operation_id = x.operation_id and r.contact_id = x.contact_id and r.account_id = ?
                             and (r.status = 'CLAIMED' or r.sent_at > now() - make_interval(secs => ${SEND_WINDOW_SECONDS})))
                  or exists (select 1 from contact_event s
                              where s.account_id = ? and s.contact_id = x.contact_id and s.type = ${SENT}
                                and s.occurred_at > now() - make_interval(secs => ${SEND_WINDOW_SECONDS})
                                and s.operation_id = x.operation_id))) as m
                  from x),
          c as (select distinct contact_id, operation_id from y where type = ${CLICK} and operation_id is not null),
          burst as (select contact_id, operation_id from (
                      select contact_id, operation_id, url from y where type = ${CLICK} and operation_id is not null
                      union all
                      select e.contact_id, e.operation_id, e.url from c
                        join contact_event e on e.account_id = ? and e.contact_id = c.contact_id and e.type = ${CLICK}
                         and e.occurred_at > now() - make_interval(secs => ${BURST_SECONDS})
                         and e.operation_id = c.operation_id) l
                     group by contact_id, operation_id having count(distinct url) >= ${BURST_LINKS}),
          ins as (insert into contact_event (account_id, contact_id, type, occurred_at, operation_id, url, machine)
                  select ?, y.contact_id, y.type, now(), y.operation_id, y.url,
                         y.m or exists (select 1 from burst b where b.contact_id = y.contact_id
                                         and b.operation_id = y.operation_id and y.type = ${CLICK})
                    from y join ok on ok.id = y.contact_id
                  returning contact_id),
          upd as (update contact_event e set machine = true
                    from burst b join ok on ok.id = b.contact_id
                   where e.account_id = ? and e.contact_id = b.contact_id and e.type = ${CLICK}
                     and e.occurred_at > now() - make_interval(secs => ${BURST_SECONDS})
                     and e.operation_id = b.operation_id and not e.machine)
     select distinct contact_id::text from ins`,
    [JSON.stringify(hits), accountId, accountId, accountId, accountId, accountId, accountId],
    'all',
  );
  return new Set(rows.map((r) => r.contact_id));
}
