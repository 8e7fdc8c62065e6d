import { Migration } from '@mikro-orm/migrations';

export class Migration20261123111533_Initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "account" ("id" uuid not null default gen_random_uuid(), "name" varchar(200) not null, "settings" jsonb not null, "created_at" timestamptz not null default now(), constraint "account_pkey" primary key ("id"));`,
    );

    this.addSql(
      `create table "audit_entry" ("id" bigserial primary key, "account_id" uuid not null, "user_id" uuid null, "user_email" varchar(320) null, "action" varchar(80) not null, "feature" varchar(20) null, "object_type" varchar(60) null, "object_id" varchar(80) null, "diff" jsonb null, "ip" varchar(64) null, "created_at" timestamptz not null default now());`,
    );
    this.addSql(`create index "audit_entry_account_id_id_index" on "audit_entry" ("account_id", "id");`);
    this.addSql(
      `create index "audit_entry_account_id_user_id_id_index" on "audit_entry" ("account_id", "user_id", "id");`,
    );

    this.addSql(
      `create table "login_throttle" ("email" varchar(320) not null, "failures" int not null default 0, "window_start" timestamptz not null default now(), "locked_until" timestamptz null, constraint "login_throttle_pkey" primary key ("email"));`,
    );

    this.addSql(
      `create table "outbox_message" ("id" bigserial primary key, "account_id" uuid null, "to" varchar(320) not null, "subject" varchar(300) not null, "text" text not null, "html" text null, "created_at" timestamptz not null default now());`,
    );
    this.addSql(
      `create index "outbox_message_account_id_id_index" on "outbox_message" ("account_id", "id");`,
    );

    this.addSql(
      `create table "security_event" ("id" bigserial primary key, "account_id" uuid null, "user_id" uuid null, "kind" varchar(40) not null, "operation" varchar(200) null, "detail" text null, "ip" varchar(64) null, "created_at" timestamptz not null default now());`,
    );

    this.addSql(
      `create table "app_user" ("id" uuid not null default gen_random_uuid(), "account_id" uuid not null, "email" varchar(320) not null, "name" varchar(200) not null, "phone" varchar(40) null, "password_hash" text null, "status" text check ("status" in ('INVITED', 'ACTIVE', 'DISABLED', 'DELETED')) not null, "is_owner" boolean not null default false, "rights" jsonb not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "app_user_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "app_user_account_id_index" on "app_user" ("account_id");`);
    this.addSql(
      `create unique index app_user_live_email_unique on app_user (lower(email)) where status <> 'DELETED';`,
    );

    this.addSql(
      `create table "session_token" ("id" uuid not null default gen_random_uuid(), "user_id" uuid not null, "token_hash" varchar(64) not null, "created_at" timestamptz not null default now(), "expires_at" timestamptz not null, "revoked_at" timestamptz null, "ip" varchar(64) null, constraint "session_token_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "session_token_user_id_index" on "session_token" ("user_id");`);
    this.addSql(
      `alter table "session_token" add constraint "session_token_token_hash_unique" unique ("token_hash");`,
    );

    this.addSql(
      `create table "invitation" ("id" uuid not null default gen_random_uuid(), "user_id" uuid not null, "token_hash" varchar(64) not null, "created_at" timestamptz not null default now(), "expires_at" timestamptz not null, "used_at" timestamptz null, constraint "invitation_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "invitation_user_id_index" on "invitation" ("user_id");`);
    this.addSql(
      `alter table "invitation" add constraint "invitation_token_hash_unique" unique ("token_hash");`,
    );

    this.addSql(
      `alter table "audit_entry" add constraint "audit_entry_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "outbox_message" add constraint "outbox_message_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "app_user" add constraint "app_user_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "session_token" add constraint "session_token_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "invitation" add constraint "invitation_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "audit_entry" drop constraint "audit_entry_account_id_foreign";`);

    this.addSql(`alter table "outbox_message" drop constraint "outbox_message_account_id_foreign";`);

    this.addSql(`alter table "app_user" drop constraint "app_user_account_id_foreign";`);

    this.addSql(`alter table "session_token" drop constraint "session_token_user_id_foreign";`);

    this.addSql(`alter table "invitation" drop constraint "invitation_user_id_foreign";`);

    this.addSql(`drop table if exists "account" cascade;`);

    this.addSql(`drop table if exists "audit_entry" cascade;`);

    this.addSql(`drop table if exists "login_throttle" cascade;`);

    this.addSql(`drop table if exists "outbox_message" cascade;`);

    this.addSql(`drop table if exists "security_event" cascade;`);

    this.addSql(`drop table if exists "app_user" cascade;`);

    this.addSql(`drop table if exists "session_token" cascade;`);

    this.addSql(`drop table if exists "invitation" cascade;`);
  }
}
