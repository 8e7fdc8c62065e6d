import { Migration } from '@mikro-orm/migrations';

export class Migration20261123113809_Contacts extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "bounce" ("id" bigserial primary key, "account_id" uuid not null, "contact_id" bigint null, "recipient" varchar(320) not null, "received_at" timestamptz not null, "status" varchar(20) null, "reply_code" varchar(10) null, "reason" varchar(40) not null, "hard" boolean not null, "type" text check ("type" in ('DELIVERY_FAILED', 'RETRY_LOOP_EXCEEDED', 'MAX_ATTEMPTS_REACHED', 'SPAM_REFUSED')) not null, "diagnostic" text null, "created_at" timestamptz not null default now());`,
    );
    this.addSql(
      `create index "bounce_account_id_contact_id_received_at_index" on "bounce" ("account_id", "contact_id", "received_at");`,
    );

    this.addSql(
      `create table "contact" ("id" bigserial primary key, "account_id" uuid not null, "email" varchar(320) null, "phone" varchar(40) null, "first_name" varchar(200) null, "last_name" varchar(200) null, "gender" varchar(20) null, "birth_date" date null, "city" varchar(200) null, "department" varchar(100) null, "country" varchar(100) null, "fields" jsonb not null default '{}', "unique_value" varchar(400) null, "email_status" text check ("email_status" in ('VALID', 'SOFT_BOUNCED', 'HARD_BOUNCED', 'COMPLAINED', 'UNSUBSCRIBED')) not null default 'VALID', "last_bounce_id" bigint null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now());`,
    );
    this.addSql(`create index "contact_account_id_id_index" on "contact" ("account_id", "id");`);
    this.addSql(`create index contact_account_email_index on contact (account_id, lower(email));`);
    this.addSql(
      `alter table "contact" add constraint "contact_account_unique_value" unique ("account_id", "unique_value");`,
    );

    this.addSql(
      `create table "contact_event" ("id" bigserial primary key, "account_id" uuid not null, "contact_id" bigint not null, "type" smallint not null, "occurred_at" timestamptz not null, "operation_id" uuid null, "form_id" uuid null, "url" text null);`,
    );
    this.addSql(
      `create index contact_event_contact_index on contact_event (account_id, contact_id, type, occurred_at) include (id);`,
    );

    this.addSql(
      `create table "contact_field" ("id" uuid not null default gen_random_uuid(), "account_id" uuid not null, "name" varchar(63) not null, "label" varchar(200) not null, "type" text check ("type" in ('TEXT', 'NUMBER', 'DATE', 'BOOLEAN')) not null, "created_at" timestamptz not null default now(), constraint "contact_field_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table "contact_field" add constraint "contact_field_account_id_name_unique" unique ("account_id", "name");`,
    );

    this.addSql(
      `create table "contact_import" ("id" uuid not null default gen_random_uuid(), "account_id" uuid not null, "user_id" uuid null, "status" text check ("status" in ('RUNNING', 'DONE', 'FAILED')) not null, "source" varchar(20) not null, "total" int not null default 0, "processed" int not null default 0, "created" int not null default 0, "merged" int not null default 0, "rejected" int not null default 0, "error" text null, "created_at" timestamptz not null default now(), "finished_at" timestamptz null, constraint "contact_import_pkey" primary key ("id"));`,
    );

    this.addSql(
      `create table "contact_import_row" ("import_id" uuid not null, "row_number" int not null, "outcome" text check ("outcome" in ('CREATED', 'MERGED', 'REJECTED')) not null, "contact_id" bigint null, "error" text null, constraint "contact_import_row_pkey" primary key ("import_id", "row_number"));`,
    );

    this.addSql(
      `alter table "contact" add constraint "contact_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "contact_field" add constraint "contact_field_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "contact_import" add constraint "contact_import_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "bounce" cascade;`);

    this.addSql(`drop table if exists "contact" cascade;`);

    this.addSql(`drop table if exists "contact_event" cascade;`);

    this.addSql(`drop table if exists "contact_field" cascade;`);

    this.addSql(`drop table if exists "contact_import" cascade;`);

    this.addSql(`drop table if exists "contact_import_row" cascade;`);
  }
}
