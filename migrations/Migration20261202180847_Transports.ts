import { Migration } from '@mikro-orm/migrations';

/**
 * Transports (src/modules/transport): the mail outbox learns what a campaign message carries (from,
 * reply-to, Message-ID, headers, kind) and SMS get an outbox of their own for installs without a gateway.
 */
export class Migration20261202180847_Transports extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "sms_outbox_message" ("id" bigserial primary key, "account_id" uuid null, "sender_id" varchar(20) not null, "to" varchar(40) not null, "text" text not null, "message_id" varchar(300) null, "kind" varchar(20) null, "created_at" timestamptz not null default now());`,
    );
    this.addSql(
      `create index "sms_outbox_message_account_id_id_index" on "sms_outbox_message" ("account_id", "id");`,
    );

    this.addSql(
      `alter table "sms_outbox_message" add constraint "sms_outbox_message_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "outbox_message" add column "from_address" varchar(640) null, add column "reply_to" varchar(320) null, add column "message_id" varchar(300) null, add column "headers" jsonb null, add column "kind" varchar(20) null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "sms_outbox_message" cascade;`);

    this.addSql(
      `alter table "outbox_message" drop column "from_address", drop column "reply_to", drop column "message_id", drop column "headers", drop column "kind";`,
    );
  }
}
