import { Migration } from '@mikro-orm/migrations';

/**
 * The mail queue (SQL-owned, listed in src/db/orm.ts skipTables): with SMTP_URL set, the mailer
 * writes each workflow mail (invitations, approvals, low balance, failing webhooks, opt-in
 * confirmations) here, in the transaction of the change that causes it, and the queue's workers
 * (src/modules/mail/mail.queue.ts) hand it to SMTP after the commit. Before, the mail was handed
 * over inside the change's transaction: a rollback after it still mailed, and an SMTP server down
 * refused the change itself.
 */
export class Migration20261204220000_MailQueue extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "mail_queue" (
      "id" bigserial primary key,
      "account_id" uuid null references "account" ("id") on delete cascade,
      "to" varchar(320) not null,
      "subject" varchar(300) not null,
      "text" text not null,
      "html" text null,
      "status" varchar(10) not null default 'PENDING' check ("status" in ('PENDING', 'SENT', 'FAILED')),
      "attempts" smallint not null default 0,
      "next_attempt_at" timestamptz not null default now(),
      "lease_until" timestamptz null,
      "last_error" text null,
      "created_at" timestamptz not null default now(),
      "sent_at" timestamptz null);`);
    // What the workers claim: the due rows only.
    this.addSql(
      `create index "mail_queue_due" on "mail_queue" ("next_attempt_at") where "status" = 'PENDING';`,
    );
    // The owner's view (mailQueue), newest first, and the cascade of an account's deletion.
    this.addSql(`create index "mail_queue_account_id" on "mail_queue" ("account_id", "id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "mail_queue";`);
  }
}
