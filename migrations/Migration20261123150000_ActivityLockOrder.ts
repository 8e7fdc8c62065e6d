import { Migration } from '@mikro-orm/migrations';

/**
 * contact_activity_remove() takes its row locks in (account, contact) order first, the order of
 * contact_activity_add()'s upsert: deleting contacts while their events arrive cannot deadlock.
 */
export class Migration20261123150000_ActivityLockOrder extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create or replace function contact_activity_remove() returns trigger language plpgsql as $$
begin
  -- Lock the rows in the order the insert trigger's upsert does (account, contact), so a
  -- delete and a concurrent insert of events on the same contacts cannot deadlock.
  perform 1 from contact_activity a
    where (a.account_id, a.contact_id) in (select account_id, contact_id from old_rows)
    order by a.account_id, a.contact_id for update;
  update contact_activity a
     set counts = array[coalesce(a.counts[1], 0) - d.counts[1], coalesce(a.counts[2], 0) - d.counts[2], coalesce(a.counts[3], 0) - d.counts[3], coalesce(a.counts[4], 0) - d.counts[4], coalesce(a.counts[5], 0) - d.counts[5], coalesce(a.counts[6], 0) - d.counts[6], coalesce(a.counts[7], 0) - d.counts[7], coalesce(a.counts[8], 0) - d.counts[8], coalesce(a.counts[9], 0) - d.counts[9], coalesce(a.counts[10], 0) - d.counts[10]]
    from (select account_id, contact_id, array[count(*) filter (where type = 0), count(*) filter (where type = 1), count(*) filter (where type = 2), count(*) filter (where type = 3), count(*) filter (where type = 4), count(*) filter (where type = 5), count(*) filter (where type = 6), count(*) filter (where type = 7), count(*) filter (where type = 8), count(*) filter (where type = 9)] as counts
            from old_rows group by account_id, contact_id) d
   where a.account_id = d.account_id and a.contact_id = d.contact_id;
  delete from contact_activity a using (select distinct account_id, contact_id from old_rows) d
   where a.account_id = d.account_id and a.contact_id = d.contact_id and not exists (select 1 from unnest(a.counts) n where n <> 0);
  return null;
end $$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`create or replace function contact_activity_remove() returns trigger language plpgsql as $$
begin
  update contact_activity a
     set counts = array[coalesce(a.counts[1], 0) - d.counts[1], coalesce(a.counts[2], 0) - d.counts[2], coalesce(a.counts[3], 0) - d.counts[3], coalesce(a.counts[4], 0) - d.counts[4], coalesce(a.counts[5], 0) - d.counts[5], coalesce(a.counts[6], 0) - d.counts[6], coalesce(a.counts[7], 0) - d.counts[7], coalesce(a.counts[8], 0) - d.counts[8], coalesce(a.counts[9], 0) - d.counts[9], coalesce(a.counts[10], 0) - d.counts[10]]
    from (select account_id, contact_id, array[count(*) filter (where type = 0), count(*) filter (where type = 1), count(*) filter (where type = 2), count(*) filter (where type = 3), count(*) filter (where type = 4), count(*) filter (where type = 5), count(*) filter (where type = 6), count(*) filter (where type = 7), count(*) filter (where type = 8), count(*) filter (where type = 9)] as counts
            from old_rows group by account_id, contact_id) d
   where a.account_id = d.account_id and a.contact_id = d.contact_id;
  delete from contact_activity a using (select distinct account_id, contact_id from old_rows) d
   where a.account_id = d.account_id and a.contact_id = d.contact_id and not exists (select 1 from unnest(a.counts) n where n <> 0);
  return null;
end $$;`);
  }
}
