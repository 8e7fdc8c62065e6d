import { Migration } from '@mikro-orm/migrations';

/** The 11 event types of this migration's time (SMS_DELIVERED, code 10, is the 11th). Frozen here. */
const TYPES = 11;
const counted = Array.from({ length: TYPES }, (_, t) => `count(*) filter (where type = ${t})`).join(', ');
const merged = (op: '+' | '-', other: string) =>
  Array.from(
    { length: TYPES },
    (_, i) => `coalesce(a.counts[${i + 1}], 0) ${op} ${other}.counts[${i + 1}]`,
  ).join(', ');

/**
 * SMS delivery reports added the event type SMS_DELIVERED (code 10), and contact_activity counts
 * every type by position (Migration20261123140000_Activity: a new type needs its functions
 * re-created with one more entry). Re-creates contact_activity_add and contact_activity_remove for
 * 11 types (the lock order of Migration20261123150000_ActivityLockOrder kept), then counts the
 * SMS_DELIVERED events already recorded into the 11th entry.
 */
export class Migration20261203072000_ActivitySmsDelivered extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create or replace function contact_activity_add() returns trigger language plpgsql as $$
begin
  insert into contact_activity as a (account_id, contact_id, counts)
  select account_id, contact_id, array[${counted}]
    from new_rows group by account_id, contact_id order by account_id, contact_id
  on conflict (account_id, contact_id) do update
    set counts = array[${merged('+', 'excluded')}];
  return null;
end $$;`);
    this.addSql(`create or replace function contact_activity_remove() returns trigger language plpgsql as $$
begin
  -- Lock the rows in the order the insert trigger's upsert does (account, contact), so a
  -- delete and a concurrent insert of events on the same contacts cannot deadlock.
  perform 1 from contact_activity a
    where (a.account_id, a.contact_id) in (select account_id, contact_id from old_rows)
    order by a.account_id, a.contact_id for update;
  update contact_activity a
     set counts = array[${merged('-', 'd')}]
    from (select account_id, contact_id, array[${counted}] as counts
            from old_rows group by account_id, contact_id) d
   where a.account_id = d.account_id and a.contact_id = d.contact_id;
  delete from contact_activity a using (select distinct account_id, contact_id from old_rows) d
   where a.account_id = d.account_id and a.contact_id = d.contact_id and not exists (select 1 from unnest(a.counts) n where n <> 0);
  return null;
end $$;`);
    // What the old functions left out: the SMS_DELIVERED events recorded before this migration.
    this.addSql(`insert into contact_activity as a (account_id, contact_id, counts)
      select account_id, contact_id, array[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, count(*)]::bigint[]
        from contact_event where type = 10 group by account_id, contact_id order by account_id, contact_id
      on conflict (account_id, contact_id) do update
        set counts = a.counts[1:10] || array[excluded.counts[11]];`);
  }

  override async down(): Promise<void> {
    // The 10-type functions of Migration20261123150000_ActivityLockOrder come back with a rollback
    // of that one; here the 11th entry is simply left unread.
  }
}
