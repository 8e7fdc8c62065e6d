import {
  getCreateIndexesSQL,
  getCreateTableSQL,
  getUpdateTimestampTriggerSQL,
} from '@agendajs/postgres-backend';
import { Migration } from '@mikro-orm/migrations';

export class Migration20261123114553_Scores extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "contact_score" ("score_id" uuid not null, "contact_id" bigint not null, "account_id" uuid not null, "state_value" numeric not null default '0', "event_value" numeric not null default '0', "value" numeric not null, constraint "contact_score_pkey" primary key ("score_id", "contact_id"));`,
    );

    this.addSql(
      `create table "score" ("id" uuid not null default gen_random_uuid(), "account_id" uuid not null, "name" varchar(200) not null, "description" text not null default '', "last_run_at" timestamptz null, "next_run_at" timestamptz null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "score_pkey" primary key ("id"));`,
    );

    this.addSql(
      `create table "score_condition" ("score_id" uuid not null, "position" smallint not null, "criterion" jsonb not null, "mode" text check ("mode" in ('FIXED', 'FIXED_PER_EVENT', 'FIELD_VALUE')) not null, "value" numeric(20,6) not null, "coefficient" numeric(20,6) not null default '1', constraint "score_condition_pkey" primary key ("score_id", "position"));`,
    );

    this.addSql(
      `create table "score_run" ("id" uuid not null default gen_random_uuid(), "account_id" uuid not null, "user_id" uuid null, "trigger" text check ("trigger" in ('MANUAL', 'SCHEDULED')) not null, "status" text check ("status" in ('RUNNING', 'DONE', 'FAILED')) not null, "contacts_changed" int not null default 0, "started_at" timestamptz not null default now(), "finished_at" timestamptz null, "duration_ms" int null, "error" text null, constraint "score_run_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "score_run_account_id_started_at_index" on "score_run" ("account_id", "started_at");`,
    );
    this.addSql(
      `create unique index score_run_one_running on score_run (account_id) where status = 'RUNNING';`,
    );

    this.addSql(
      `create table "score_state" ("account_id" uuid not null, "event_watermark" bigint not null default '0', constraint "score_state_pkey" primary key ("account_id"));`,
    );

    this.addSql(
      `alter table "score" add constraint "score_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "score_condition" add constraint "score_condition_score_id_foreign" foreign key ("score_id") references "score" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "score_state" add constraint "score_state_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );

    // Incremental runs update ~3% of the rows: room on each page keeps them HOT (PERF-NOTES).
    this.addSql(`alter table "contact_score" set (fillfactor = 70);`);

    // Agenda's job table, created here once: two processes creating it at start-up can collide
    // (STACK-NOTES), so the backend runs with ensureSchema: false. Not an entity (skipTables).
    this.addSql(getCreateTableSQL('agenda_jobs'));
    for (const sql of getCreateIndexesSQL('agenda_jobs')) this.addSql(sql);
    this.addSql(getUpdateTimestampTriggerSQL('agenda_jobs'));
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "score_condition" drop constraint "score_condition_score_id_foreign";`);

    this.addSql(`drop table if exists "contact_score" cascade;`);

    this.addSql(`drop table if exists "score" cascade;`);

    this.addSql(`drop table if exists "score_condition" cascade;`);

    this.addSql(`drop table if exists "score_run" cascade;`);

    this.addSql(`drop table if exists "score_state" cascade;`);

    this.addSql(`drop table if exists "agenda_jobs" cascade;`);
    this.addSql(`drop function if exists update_agenda_jobs_updated_at();`);
  }
}
