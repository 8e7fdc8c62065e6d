import { Migration } from '@mikro-orm/migrations';

/**
 * Machine opens and clicks (issue 13, tracking): `contact_event.machine` marks an open or click a
 * proxy or scanner made (src/modules/events/tracking.machine.ts). Existing events stay human
 * (false, a constant default: no table rewrite).
 *
 * Operation statistics count machine events apart: in operation_contact_stat and operation_stat
 * a machine event is keyed by its type + 100 (MACHINE_TYPE_OFFSET in operation.stats.ts), so the
 * human uniques are the contacts with at least one human event, and the machine counts sit beside
 * them. Machine clicks get no per-link rows (nothing reads them). Tracking flags a scanner's
 * earlier clicks once it has clicked enough links (an UPDATE of `machine`): a new UPDATE trigger
 * moves those rows from the human to the machine counts, in the same statement's transaction.
 * contact_activity and contact_recent count by type, machine or not (README, Segments).
 */
const NIL = `'00000000-0000-0000-0000-000000000000'::uuid`;
const KEY = 'account_id, operation_id, type, url_key';

// Every (key, contact) an event counts for; `machine`: a machine event counts under type + 100.
const keys = (rows: string, machine: boolean) =>
  machine
    ? `select r.account_id, r.operation_id, (case when r.machine then r.type + 100 else r.type end)::smallint as type,
              u.url_key, u.url, r.contact_id
      from ${rows} r
      cross join lateral (values (${NIL}, null::text),
        (case when r.type in (1, 2) and r.url is not null and not r.machine then md5(r.url)::uuid end, r.url)) u(url_key, url)
     where r.operation_id is not null and u.url_key is not null`
    : `select r.account_id, r.operation_id, r.type, u.url_key, u.url, r.contact_id
      from ${rows} r
      cross join lateral (values (${NIL}, null::text),
        (case when r.type in (1, 2) and r.url is not null then md5(r.url)::uuid end, r.url)) u(url_key, url)
     where r.operation_id is not null and u.url_key is not null`;

// The bodies of Migration20261202180000_OperationStats, over any set of rows (see the lock-order
// comments there): add counts the rows in, remove takes them out.
const add = (rows: string, m: boolean) => `
  with k as (${keys(rows, m)}),
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
    set total = o.total + excluded.total, uniques = o.uniques + excluded.uniques, changes = o.changes + 1;`;

const remove = (rows: string, m: boolean) => `
  perform 1 from operation_contact_stat s
    where (s.account_id, s.operation_id, s.type, s.url_key, s.contact_id) in
          (select ${KEY}, contact_id from (${keys(rows, m)}) k)
    order by s.account_id, s.operation_id, s.type, s.url_key, s.contact_id for update;
  with k as (${keys(rows, m)}),
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
         (select ${KEY}, contact_id from (${keys(rows, m)}) k)
     and s.n <= 0;`;

const fn = (name: string, body: string) =>
  `create or replace function ${name}() returns trigger language plpgsql as $$
begin${body}
  return null;
end $$;`;

// The rows of an UPDATE whose machine flag changed, before and after (an UPDATE trigger with
// transition tables cannot name its columns, so it filters here).
const CHANGED_OLD =
  '(select o.* from old_rows o join new_rows n using (id) where o.machine is distinct from n.machine)';
const CHANGED_NEW =
  '(select n.* from new_rows n join old_rows o using (id) where o.machine is distinct from n.machine)';

export class Migration20261203060000_MachineEvents extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table "contact_event" add column "machine" boolean not null default false;');
    this.addSql(fn('operation_stat_add', add('new_rows', true)));
    this.addSql(fn('operation_stat_remove', remove('old_rows', true)));
    // Tracking's statement always runs its UPDATE, which mostly changes nothing: skip at once then.
    this.addSql(
      fn(
        'operation_stat_machine',
        `\n  if not exists (select 1 from new_rows) then return null; end if;${remove(CHANGED_OLD, true)}${add(CHANGED_NEW, true)}`,
      ),
    );
    this.addSql(
      'create trigger contact_event_operation_stat_update after update on contact_event referencing old table as old_rows new table as new_rows for each statement execute function operation_stat_machine();',
    );
  }

  override async down(): Promise<void> {
    this.addSql('drop trigger if exists contact_event_operation_stat_update on contact_event;');
    this.addSql('drop function if exists operation_stat_machine();');
    // Machine events become human again: the aggregates are rebuilt without the offset.
    this.addSql(fn('operation_stat_add', add('new_rows', false)));
    this.addSql(fn('operation_stat_remove', remove('old_rows', false)));
    this.addSql('truncate operation_contact_stat, operation_stat;');
    this.addSql(`insert into operation_contact_stat (${KEY}, contact_id, n)
      select ${KEY}, contact_id, count(*) from (${keys('contact_event', false)}) k group by ${KEY}, contact_id;`);
    this.addSql(`insert into operation_stat (${KEY}, slot, url, total, uniques, changes)
      select ${KEY}, 0, min(url), count(*), count(distinct contact_id), 1 from (${keys('contact_event', false)}) k group by ${KEY};`);
    this.addSql('alter table "contact_event" drop column "machine";');
  }
}
