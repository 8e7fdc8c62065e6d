import { Migration } from '@mikro-orm/migrations';

/**
 * Operation statistics (issue 12, part 4), kept by statement-level triggers on contact_event in
 * the events' own transaction, like contact_activity. Only rows with an operation_id pay.
 *
 * - operation_contact_stat: how many events of a (type, link) each contact has for an operation.
 *   A row is the "first seen" of its key: its insertion is a new unique, its removal (n back to
 *   0 after deletes) one unique less. url_key is the nil uuid for the type as a whole, md5(url)
 *   for one link of a click (a hash, so a long URL never overflows the btree).
 * - operation_stat: totals and uniques per (type, link), striped over 8 slots by backend
 *   (pg_backend_pid() % 8): every event of an operation would otherwise update one row, and
 *   concurrent ingest transactions would queue on its lock until each commits. A read sums at
 *   most 8 rows per key. `changes` only grows: what operationStatsUpdated polls.
 * Both are keyed by account as well: an event names an operation id the account gave, so another
 * account's events can never count for it. Not entities: only these triggers write them.
 */
const NIL = `'00000000-0000-0000-0000-000000000000'::uuid`;
// Every (key, contact) an event counts for: the type, and for a click with a URL its link too.
const KEYS = (rows: string) => `select r.account_id, r.operation_id, r.type, u.url_key, u.url, r.contact_id
      from ${rows} r
      cross join lateral (values (${NIL}, null::text),
        (case when r.type in (1, 2) and r.url is not null then md5(r.url)::uuid end, r.url)) u(url_key, url)
     where r.operation_id is not null and u.url_key is not null`;
const KEY = 'account_id, operation_id, type, url_key';

export class Migration20261202180000_OperationStats extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table operation_contact_stat (account_id uuid not null, operation_id uuid not null, type smallint not null, url_key uuid not null, contact_id bigint not null, n bigint not null, primary key (${KEY}, contact_id)) with (fillfactor = 90);`,
    );
    this.addSql(
      `create table operation_stat (account_id uuid not null, operation_id uuid not null, type smallint not null, url_key uuid not null, slot smallint not null, url text null, total bigint not null, uniques bigint not null, changes bigint not null, primary key (${KEY}, slot)) with (fillfactor = 50);`,
    );
    // Locks: per-contact rows first (in key order, by the upsert's ORDER BY), then the stat rows
    // (key order); the GROUP BY over `seen` finishes the first upsert before the second starts.
    // prev.n (PostgreSQL 18's RETURNING OLD, renamed: plpgsql owns `old`) is null when the upsert inserted.
    this.addSql(`create function operation_stat_add() returns trigger language plpgsql as $$
begin
  with k as (${KEYS('new_rows')}),
  per as (select ${KEY}, contact_id, count(*) as n from k group by ${KEY}, contact_id),
  seen as (insert into operation_contact_stat as s (${KEY}, contact_id, n)
             select ${KEY}, contact_id, n from per order by ${KEY}, contact_id
           on conflict (${KEY}, contact_id) do update set n = s.n + excluded.n
           returning with (old as prev) s.account_id, s.operation_id, s.type, s.url_key, prev.n is null as fresh),
  fresh as (select ${KEY}, count(*) filter (where fresh) as fresh from seen group by ${KEY}),
  agg as (select ${KEY}, min(url) as url, count(*) as total from k group by ${KEY})
  insert into operation_stat as o (${KEY}, slot, url, total, uniques, changes)
  select a.account_id, a.operation_id, a.type, a.url_key, pg_backend_pid() % 8, a.url, a.total, coalesce(f.fresh, 0), 1
    from agg a left join fresh f using (${KEY})
   order by a.account_id, a.operation_id, a.type, a.url_key
  on conflict (${KEY}, slot) do update
    set total = o.total + excluded.total, uniques = o.uniques + excluded.uniques, changes = o.changes + 1;
  return null;
end $$;`);
    // Deletes (deleteContacts, or by hand): lock the per-contact rows in key order, subtract, count
    // the rows that reach 0 as uniques gone, then drop them. An insert of the same key waits on
    // the row lock and, once the row is gone, inserts it again as a new unique.
    this.addSql(`create function operation_stat_remove() returns trigger language plpgsql as $$
begin
  perform 1 from operation_contact_stat s
    where (s.account_id, s.operation_id, s.type, s.url_key, s.contact_id) in
          (select ${KEY}, contact_id from (${KEYS('old_rows')}) k)
    order by s.account_id, s.operation_id, s.type, s.url_key, s.contact_id for update;
  with k as (${KEYS('old_rows')}),
  per as (select ${KEY}, contact_id, count(*) as n from k group by ${KEY}, contact_id),
  dec as (update operation_contact_stat s set n = s.n - per.n from per
           where s.account_id = per.account_id and s.operation_id = per.operation_id and s.type = per.type
             and s.url_key = per.url_key and s.contact_id = per.contact_id
           returning s.account_id, s.operation_id, s.type, s.url_key, s.n <= 0 as gone),
  gone as (select ${KEY}, count(*) filter (where gone) as gone from dec group by ${KEY}),
  agg as (select ${KEY}, min(url) as url, count(*) as total from k group by ${KEY})
  insert into operation_stat as o (${KEY}, slot, url, total, uniques, changes)
  select a.account_id, a.operation_id, a.type, a.url_key, pg_backend_pid() % 8, a.url, -a.total, -coalesce(g.gone, 0), 1
    from agg a left join gone g using (${KEY})
   order by a.account_id, a.operation_id, a.type, a.url_key
  on conflict (${KEY}, slot) do update
    set total = o.total + excluded.total, uniques = o.uniques + excluded.uniques, changes = o.changes + 1;
  delete from operation_contact_stat s
   where (s.account_id, s.operation_id, s.type, s.url_key, s.contact_id) in
         (select ${KEY}, contact_id from (${KEYS('old_rows')}) k)
     and s.n <= 0;
  return null;
end $$;`);
    this.addSql(`create function operation_stat_clear() returns trigger language plpgsql as $$
begin
  truncate operation_contact_stat, operation_stat;
  return null;
end $$;`);
    this.addSql(
      `create trigger contact_event_operation_stat_insert after insert on contact_event referencing new table as new_rows for each statement execute function operation_stat_add();`,
    );
    this.addSql(
      `create trigger contact_event_operation_stat_delete after delete on contact_event referencing old table as old_rows for each statement execute function operation_stat_remove();`,
    );
    this.addSql(
      `create trigger contact_event_operation_stat_truncate after truncate on contact_event for each statement execute function operation_stat_clear();`,
    );
    // The events already stored.
    this.addSql(`insert into operation_contact_stat (${KEY}, contact_id, n)
      select ${KEY}, contact_id, count(*) from (${KEYS('contact_event')}) k group by ${KEY}, contact_id;`);
    this.addSql(`insert into operation_stat (${KEY}, slot, url, total, uniques, changes)
      select ${KEY}, 0, min(url), count(*), count(distinct contact_id), 1 from (${KEYS('contact_event')}) k group by ${KEY};`);
  }

  override async down(): Promise<void> {
    this.addSql('drop trigger if exists contact_event_operation_stat_truncate on contact_event;');
    this.addSql('drop trigger if exists contact_event_operation_stat_delete on contact_event;');
    this.addSql('drop trigger if exists contact_event_operation_stat_insert on contact_event;');
    this.addSql('drop function if exists operation_stat_clear();');
    this.addSql('drop function if exists operation_stat_remove();');
    this.addSql('drop function if exists operation_stat_add();');
    this.addSql('drop table if exists operation_stat;');
    this.addSql('drop table if exists operation_contact_stat;');
  }
}
