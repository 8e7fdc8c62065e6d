import { Migration } from '@mikro-orm/migrations';

/**
 * Forms and surveys (issue 15), SQL-owned tables (listed in src/db/orm.ts skipTables):
 * - `form`: the editable draft (`draft`: fields, questions, settings) and a pointer to the
 *   published version; `public_id` is what a page and the public submission name (12 random
 *   base62 characters, unique everywhere: it carries no account).
 * - `form_version`: every published definition, immutable, so a submission names exactly the
 *   fields and consent texts it was made with.
 * - `form_submission`: the answers, the consents (what, when, from which address, which version)
 *   and the double opt-in state. `unique (form_id, idempotency_key)` makes a double click one
 *   submission whatever the timing; the partial unique index makes "one answer per contact" hold
 *   under concurrency too.
 * And a new email status, UNCONFIRMED: a contact a double opt-in form created, not subscribed
 * until it follows its confirmation link (sending excludes it, like UNSUBSCRIBED).
 */
export class Migration20261204190000_Forms extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "form" ("id" uuid primary key default gen_random_uuid(),
      "account_id" uuid not null references "account" ("id") on delete cascade,
      "kind" varchar(10) not null check ("kind" in ('FORM', 'SURVEY')), "name" varchar(200) not null,
      "status" varchar(12) not null default 'DRAFT' check ("status" in ('DRAFT', 'PUBLISHED', 'UNPUBLISHED', 'CLOSED')),
      "public_id" varchar(12) not null unique, "draft" jsonb not null, "draft_hash" varchar(64) not null,
      "published_version" integer null, "created_by" uuid null, "updated_by" uuid null, "validated_by" uuid null,
      "published_at" timestamptz null, "closed_at" timestamptz null, "submission_count" integer not null default 0,
      "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now());`);
    this.addSql(`create index "form_account_id_created_at_index" on "form" ("account_id", "created_at");`);
    this.addSql(`create table "form_version" ("form_id" uuid not null references "form" ("id") on delete cascade,
      "version" integer not null, "definition" jsonb not null, "hash" varchar(64) not null,
      "published_by" uuid null, "published_at" timestamptz not null default now(),
      constraint "form_version_pkey" primary key ("form_id", "version"));`);
    this.addSql(`create table "form_submission" ("id" bigserial primary key,
      "account_id" uuid not null, "form_id" uuid not null references "form" ("id") on delete cascade,
      "version" integer not null, "idempotency_key" varchar(100) not null,
      "contact_id" bigint null references "contact" ("id") on delete set null,
      "outcome" varchar(10) null check ("outcome" in ('CREATED', 'MERGED', 'EXISTING')),
      "answers" jsonb not null, "consents" jsonb not null default '[]', "ip" varchar(45) null,
      "one_per_contact" boolean not null default false, "confirmation_required" boolean not null default false,
      "confirmed_at" timestamptz null, "created_at" timestamptz not null default now(),
      constraint "form_submission_key_unique" unique ("form_id", "idempotency_key"));`);
    this.addSql(`create index "form_submission_form_id_id_index" on "form_submission" ("form_id", "id");`);
    this.addSql(
      `create index "form_submission_contact_id_index" on "form_submission" ("contact_id") where "contact_id" is not null;`,
    );
    this.addSql(`create unique index "form_submission_one_per_contact" on "form_submission" ("form_id", "contact_id")
      where "one_per_contact" and "contact_id" is not null;`);
    this.addSql(`alter table "contact" drop constraint if exists "contact_email_status_check";`);
    this.addSql(`alter table "contact" add constraint "contact_email_status_check" check ("email_status" in
      ('VALID', 'SOFT_BOUNCED', 'HARD_BOUNCED', 'COMPLAINED', 'UNSUBSCRIBED', 'UNCONFIRMED'));`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "form_submission" cascade;`);
    this.addSql(`drop table if exists "form_version" cascade;`);
    this.addSql(`drop table if exists "form" cascade;`);
    this.addSql(`update "contact" set "email_status" = 'VALID' where "email_status" = 'UNCONFIRMED';`);
    this.addSql(`alter table "contact" drop constraint if exists "contact_email_status_check";`);
    this.addSql(`alter table "contact" add constraint "contact_email_status_check" check ("email_status" in
      ('VALID', 'SOFT_BOUNCED', 'HARD_BOUNCED', 'COMPLAINED', 'UNSUBSCRIBED'));`);
  }
}
