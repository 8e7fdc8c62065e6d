import { Migration } from '@mikro-orm/migrations';

/**
 * The sending engine (src/modules/sending): the frozen audience of each send, one row per
 * (operation, contact) with its state, and one row of figures per send.
 */
export class Migration20261202195153_Sending extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "operation_recipient" ("operation_id" uuid not null, "contact_id" bigint not null, "account_id" uuid not null, "address" varchar(320) not null, "status" text check ("status" in ('PENDING', 'CLAIMED', 'DEFERRED', 'SENT', 'FAILED', 'EXCLUDED', 'CANCELLED')) not null, "reason" varchar(30) null, "attempts" smallint not null default 0, "due_at" timestamptz null, "claimed_by" varchar(80) null, "last_error" text null, "sent_at" timestamptz null, constraint "operation_recipient_pkey" primary key ("operation_id", "contact_id"));`,
    );
    this.addSql(
      `create index operation_recipient_claimable_index on operation_recipient (operation_id, due_at) where status in ('PENDING', 'DEFERRED', 'CLAIMED');`,
    );

    this.addSql(
      `create table "operation_send" ("operation_id" uuid not null, "account_id" uuid not null, "frozen_at" timestamptz not null, "recipients" int not null, "excluded" jsonb not null, "sent" int not null default 0, "failed" int not null default 0, "hard_bounces" int not null default 0, "deferrals" int not null default 0, constraint "operation_send_pkey" primary key ("operation_id"));`,
    );

    this.addSql(
      `alter table "operation_recipient" add constraint "operation_recipient_operation_id_foreign" foreign key ("operation_id") references "operation" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "operation_send" add constraint "operation_send_operation_id_foreign" foreign key ("operation_id") references "operation" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "operation_send" add constraint "operation_send_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "operation_recipient" cascade;`);

    this.addSql(`drop table if exists "operation_send" cascade;`);
  }
}
