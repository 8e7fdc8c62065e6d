import { Migration } from '@mikro-orm/migrations';

/**
 * Per-contact activity: how many events of each type a contact has, kept up to date by statement
 * triggers on contact_event, in the same transaction as the events (so a statement's snapshot sees
 * counts and events that agree). It lets the first score run count every past event without
 * hashing 20 million rows (PERF-NOTES: the general form of the contact-order trick).
 *
 * `counts[type + 1]` is the number of events of that type (EVENT_TYPES order). A new event type
 * needs a migration that re-creates these two functions with one more entry; the events test
 * checks every type is counted. Not an entity: only these triggers write it (skipTables).
 */
export class Migration20261123140000_Activity extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table contact_activity (account_id uuid not null, contact_id bigint not null, counts bigint[] not null, primary key (account_id, contact_id)) with (fillfactor = 80);`,
    );
    // Rows in contact order: two concurrent statements lock the rows they share in the same order.
    this.addSql(`create function contact_activity_add() returns trigger language plpgsql as $$
begin
  insert into contact_activity as a (account_id, contact_id, counts)
  select account_id, contact_id, array[count(*) filter (where type = 0), count(*) filter (where type = 1), count(*) filter (where type = 2), count(*) filter (where type = 3), count(*) filter (where type = 4), count(*) filter (where type = 5), count(*) filter (where type = 6), count(*) filter (where type = 7), count(*) filter (where type = 8), count(*) filter (where type = 9)]
    from new_rows group by account_id, contact_id order by account_id, contact_id
  on conflict (account_id, contact_id) do update
    set counts = array[coalesce(a.counts[1], 0) + excluded.counts[1], coalesce(a.counts[2], 0) + excluded.counts[2], coalesce(a.counts[3], 0) + excluded.counts[3], coalesce(a.counts[4], 0) + excluded.counts[4], coalesce(a.counts[5], 0) + excluded.counts[5], coalesce(a.counts[6], 0) + excluded.counts[6], coalesce(a.counts[7], 0) + excluded.counts[7], coalesce(a.counts[8], 0) + excluded.counts[8], coalesce(a.counts[9], 0) + excluded.counts[9], coalesce(a.counts[10], 0) + excluded.counts[10]];
  return null;
end $$;`);
    this.addSql(`create function contact_activity_remove() returns trigger language plpgsql as $$
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
    this.addSql(`create function contact_activity_clear() returns trigger language plpgsql as $$
begin
  truncate contact_activity;
  return null;
end $$;`);
    this.addSql(
      `create trigger contact_event_activity_insert after insert on contact_event referencing new table as new_rows for each statement execute function contact_activity_add();`,
    );
    this.addSql(
      `create trigger contact_event_activity_delete after delete on contact_event referencing old table as old_rows for each statement execute function contact_activity_remove();`,
    );
    this.addSql(
      `create trigger contact_event_activity_truncate after truncate on contact_event for each statement execute function contact_activity_clear();`,
    );
    this.addSql(
      `insert into contact_activity (account_id, contact_id, counts)
       select account_id, contact_id, array[count(*) filter (where type = 0), count(*) filter (where type = 1), count(*) filter (where type = 2), count(*) filter (where type = 3), count(*) filter (where type = 4), count(*) filter (where type = 5), count(*) filter (where type = 6), count(*) filter (where type = 7), count(*) filter (where type = 8), count(*) filter (where type = 9)]
         from contact_event group by account_id, contact_id order by account_id, contact_id;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql('drop trigger if exists contact_event_activity_truncate on contact_event;');
    this.addSql('drop trigger if exists contact_event_activity_delete on contact_event;');
    this.addSql('drop trigger if exists contact_event_activity_insert on contact_event;');
    this.addSql('drop function if exists contact_activity_clear();');
    this.addSql('drop function if exists contact_activity_remove();');
    this.addSql('drop function if exists contact_activity_add();');
    this.addSql('drop table if exists contact_activity;');
  }
}
