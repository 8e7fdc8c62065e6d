import { Migration } from '@mikro-orm/migrations';

const KEPT = 10; // RECENT_KEPT in src/modules/targeting/criterion.compile.ts

/**
 * Segments, and what makes them fast at a million contacts (README, "Segments").
 *
 * `contact_recent`: per contact and event type, how many events and the latest ten times
 * (newest first), kept by statement triggers on contact_event in the events' own transaction,
 * like contact_activity. "Clicked at least twice in the last 30 days" is then `recent[2] >= day`
 * on one row per contact instead of an aggregate over 20 million events; the index on recent[1]
 * (the latest event) finds the contacts active since a day without reading the others. Windows it
 * cannot decide (more than ten events, or a window with an end) fall back to the raw events, for
 * those contacts only (cible_recent_at_least returns null). Not an entity (skipTables).
 */
export class Migration20261202102235_Segments extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "segment" ("id" uuid not null default gen_random_uuid(), "account_id" uuid not null, "name" varchar(200) not null, "description" text not null default '', "criterion" jsonb not null, "created_by" uuid null, "updated_by" uuid null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "segment_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table "segment" add constraint "segment_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(`create unique index segment_account_name_unique on segment (account_id, lower(name));`);

    // Scheme and host without case, ASCII only whatever the locale (criterion.ts normaliseUrl).
    this.addSql(`create function cible_url_norm(u text) returns text language sql immutable parallel safe as $$
  select case when u ~ '^[a-zA-Z][a-zA-Z0-9+.-]*://'
    then translate(substring(u from '^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*'), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
         || substring(u from '^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*(.*)$')
    else u end
$$;`);
    // The next anniversary of d on or after t (29 February falls on the 28th in other years).
    this.addSql(`create function cible_next_anniversary(d date, t date) returns date language sql immutable parallel safe as $$
  select case
    when (d + make_interval(years => extract(year from t)::int - extract(year from d)::int))::date >= t
      then (d + make_interval(years => extract(year from t)::int - extract(year from d)::int))::date
    else (d + make_interval(years => extract(year from t)::int + 1 - extract(year from d)::int))::date end
$$;`);
    // At least n events in [since, before) (either end open when null), from the latest kept ones:
    // true or false when they decide it, null when only the raw events can.
    this.addSql(`create function cible_recent_at_least(recent timestamptz[], total bigint, since timestamptz, before timestamptz, n int) returns boolean language sql immutable parallel safe as $$
  select case
    when since is null and before is null then total >= n
    when total = cardinality(recent) then m >= n
    when m >= n then true
    when since is not null and recent[cardinality(recent)] < since then false
    when since is null and recent[cardinality(recent)] < before then m + total - cardinality(recent) >= n
    else null end
  from (select count(*) filter (where t >= coalesce(since, '-infinity') and t < coalesce(before, 'infinity')) as m
          from unnest(recent) t) x
$$;`);

    this.addSql(
      `create table contact_recent (account_id uuid not null, contact_id bigint not null, type smallint not null, total bigint not null, recent timestamptz[] not null,
        at1 timestamptz generated always as (recent[1]) stored, at2 timestamptz generated always as (recent[2]) stored, at3 timestamptz generated always as (recent[3]) stored,
        primary key (account_id, contact_id, type)) with (fillfactor = 80);`,
    );
    // The latest three times as columns, so that "at least 1, 2 or 3 events since a day" is an
    // index-only range scan (PostgreSQL reads no expression of an array from an index alone).
    this.addSql(
      'create index contact_recent_latest on contact_recent (account_id, type, at1) include (contact_id, at2, at3, total);',
    );
    // A score criterion over every contact reads one score's contacts above (or below) a value:
    // an index-only range scan instead of every row of the score. Score runs pay for it: a value
    // change is no longer a HOT update (README, "Segments").
    this.addSql('create index contact_score_value on contact_score (score_id, value) include (contact_id);');
    // Rows in key order, as contact_activity_add: concurrent statements lock shared rows in one order.
    this.addSql(`create function contact_recent_add() returns trigger language plpgsql as $$
begin
  insert into contact_recent as r (account_id, contact_id, type, total, recent)
  select account_id, contact_id, type, count(*), (array_agg(occurred_at order by occurred_at desc))[1:${KEPT}]
    from new_rows group by account_id, contact_id, type order by account_id, contact_id, type
  on conflict (account_id, contact_id, type) do update
    set total = r.total + excluded.total,
        recent = case when excluded.recent[cardinality(excluded.recent)] >= r.recent[1]
                      then (excluded.recent || r.recent)[1:${KEPT}]
                      else array(select t from unnest(excluded.recent || r.recent) t order by t desc limit ${KEPT}) end;
  return null;
end $$;`);
    // Deleting events (their contacts are deleted) recounts what is left of those contacts' types.
    this.addSql(`create function contact_recent_remove() returns trigger language plpgsql as $$
begin
  perform 1 from contact_recent r
    where (r.account_id, r.contact_id, r.type) in (select account_id, contact_id, type from old_rows)
    order by r.account_id, r.contact_id, r.type for update;
  update contact_recent r set total = x.total, recent = x.recent
    from (select d.account_id, d.contact_id, d.type,
                 (select count(*) from contact_event e
                   where e.account_id = d.account_id and e.contact_id = d.contact_id and e.type = d.type) as total,
                 array(select e.occurred_at from contact_event e
                        where e.account_id = d.account_id and e.contact_id = d.contact_id and e.type = d.type
                        order by e.occurred_at desc limit ${KEPT}) as recent
            from (select distinct account_id, contact_id, type from old_rows) d) x
   where r.account_id = x.account_id and r.contact_id = x.contact_id and r.type = x.type;
  delete from contact_recent r
   where r.total = 0 and (r.account_id, r.contact_id, r.type) in (select account_id, contact_id, type from old_rows);
  return null;
end $$;`);
    this.addSql(`create function contact_recent_clear() returns trigger language plpgsql as $$
begin
  truncate contact_recent;
  return null;
end $$;`);
    this.addSql(
      `create trigger contact_event_recent_insert after insert on contact_event referencing new table as new_rows for each statement execute function contact_recent_add();`,
    );
    this.addSql(
      `create trigger contact_event_recent_delete after delete on contact_event referencing old table as old_rows for each statement execute function contact_recent_remove();`,
    );
    this.addSql(
      `create trigger contact_event_recent_truncate after truncate on contact_event for each statement execute function contact_recent_clear();`,
    );
    this.addSql(
      `insert into contact_recent (account_id, contact_id, type, total, recent)
       select account_id, contact_id, type, count(*), (array_agg(occurred_at order by occurred_at desc))[1:${KEPT}]
         from contact_event group by account_id, contact_id, type order by account_id, contact_id, type;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql('drop trigger if exists contact_event_recent_truncate on contact_event;');
    this.addSql('drop trigger if exists contact_event_recent_delete on contact_event;');
    this.addSql('drop trigger if exists contact_event_recent_insert on contact_event;');
    this.addSql('drop function if exists contact_recent_clear();');
    this.addSql('drop function if exists contact_recent_remove();');
    this.addSql('drop function if exists contact_recent_add();');
    this.addSql('drop table if exists contact_recent;');
    this.addSql('drop index if exists contact_score_value;');
    this.addSql(
      'drop function if exists cible_recent_at_least(timestamptz[], bigint, timestamptz, timestamptz, int);',
    );
    this.addSql('drop function if exists cible_next_anniversary(date, date);');
    this.addSql('drop function if exists cible_url_norm(text);');
    this.addSql('drop table if exists "segment" cascade;');
  }
}
