import { Migration } from '@mikro-orm/migrations';

/**
 * Verified senders (src/modules/senders): the from addresses an account may use. The confirmation
 * token is kept hashed on the row; one address per account whatever its case.
 */
export class Migration20261202164610_Senders extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "sender" ("id" uuid not null default gen_random_uuid(), "account_id" uuid not null, "email" varchar(320) not null, "name" varchar(200) null, "status" text check ("status" in ('PENDING', 'VERIFIED')) not null default 'PENDING', "token_hash" varchar(64) null, "token_expires_at" timestamptz null, "token_used_at" timestamptz null, "created_by" uuid null, "created_at" timestamptz not null default now(), "verified_at" timestamptz null, constraint "sender_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "sender" add constraint "sender_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create unique index sender_account_email_unique on sender (account_id, lower(email));`);

    this.addSql(
      `alter table "sender" add constraint "sender_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "sender" cascade;`);
  }
}
