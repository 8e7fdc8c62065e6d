import { Migration } from '@mikro-orm/migrations';

/**
 * Emailing and SMS operations (issue 12): one row per operation, its content and audience as jsonb,
 * the workflow's who and when, and the validated version and hash the sending engine checks.
 * Indexes: the account's list (newest first) and the scheduler's due operations (issue 13).
 */
export class Migration20261202164518_Operations extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "operation" ("id" uuid not null default gen_random_uuid(), "account_id" uuid not null, "kind" text check ("kind" in ('EMAILING', 'SMS')) not null, "name" varchar(200) not null, "status" text check ("status" in ('DRAFT', 'PENDING_APPROVAL', 'VALIDATED', 'REJECTED', 'SCHEDULED', 'SENDING', 'PAUSED', 'SENT', 'CANCELLED', 'FAILED')) not null default 'DRAFT', "audience" jsonb not null, "content" jsonb not null, "version" int not null default 1, "content_hash" varchar(64) not null, "validated_version" int null, "validated_hash" varchar(64) null, "created_by" uuid null, "updated_by" uuid null, "submitted_by" uuid null, "submitted_at" timestamptz null, "validated_by" uuid null, "validated_at" timestamptz null, "rejected_by" uuid null, "rejected_at" timestamptz null, "rejection_reason" text null, "cancelled_by" uuid null, "cancelled_at" timestamptz null, "scheduled_at" timestamptz null, "sent_at" timestamptz null, "paused_from" text check ("paused_from" in ('DRAFT', 'PENDING_APPROVAL', 'VALIDATED', 'REJECTED', 'SCHEDULED', 'SENDING', 'PAUSED', 'SENT', 'CANCELLED', 'FAILED')) null, "failure_reason" text null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "operation_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "operation_account_created_index" on "operation" ("account_id", "created_at", "id");`,
    );
    this.addSql(`create index "operation_status_scheduled_index" on "operation" ("status", "scheduled_at");`);

    this.addSql(
      `alter table "operation" add constraint "operation_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "operation" cascade;`);
  }
}
