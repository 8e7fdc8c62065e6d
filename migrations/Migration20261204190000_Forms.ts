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
 * Webhooks get `form.submitted` (a trigger on the submission's completion, in its transaction:
 * ids, outcome, and the answers when the webhook names the pseudo-field `formAnswers`, which
 * webhook_contact, re-created here with the same fields, leaves out of contact objects).
 * And a new email status, UNCONFIRMED: a contact a double opt-in form created, not subscribed
 * until it follows its confirmation link (sending excludes it, like UNSUBSCRIBED).
 */
/** As in Migration20261203082911_WebhookOutbox, frozen here. */
const FIELDS: [string, string][] = [
  ['email', 'email'],
  ['phone', 'phone'],
  ['firstName', 'first_name'],
  ['lastName', 'last_name'],
  ['gender', 'gender'],
  ['birthDate', 'birth_date'],
  ['city', 'city'],
  ['department', 'department'],
  ['country', 'country'],
  ['emailStatus', 'email_status'],
  ['smsStatus', 'sms_status'],
];
const MAX_PAYLOAD = 256 * 1024;
const webhookContact = (
  skip: string | null,
) => `create or replace function webhook_contact(c contact, keys text[]) returns jsonb language sql stable as $$
  select jsonb_build_object('id', c.id::text) || coalesce(jsonb_object_agg(k, coalesce(case k
    ${FIELDS.map(([k, col]) => `when '${k}' then to_jsonb(c.${col})`).join('\n    ')}
    else c.fields -> k end, 'null'::jsonb)), '{}'::jsonb)
  from unnest(keys) k${skip ? ` where k <> '${skip}'` : ''}
$$;`;

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
    this.addSql(webhookContact('formAnswers'));
    this.addSql(`create function webhook_outbox_form() returns trigger language plpgsql as $$
begin
  if not exists (select 1 from webhook where status in ('ACTIVE', 'FAILING')) then return null; end if;
  insert into webhook_delivery (webhook_id, account_id, event_type, payload, occurred_at, status, last_error)
  select x.webhook_id, x.account_id, x.event_type,
         case when s.size > ${MAX_PAYLOAD} then jsonb_build_object('refused', s.size) else x.payload end,
         x.occurred_at,
         case when s.size > ${MAX_PAYLOAD} then 'REFUSED' else 'PENDING' end,
         case when s.size > ${MAX_PAYLOAD} then format('payload of %s bytes, over the 256 KiB limit: not sent', s.size) end
    from (select w.id as webhook_id, w.account_id, 'form.submitted' as event_type, n.id as seq, n.created_at as occurred_at,
            jsonb_strip_nulls(jsonb_build_object('submissionId', n.id::text, 'formId', n.form_id, 'version', n.version,
              'contactId', n.contact_id::text, 'outcome', n.outcome, 'submittedAt', n.created_at,
              'confirmationRequired', n.confirmation_required))
            || case when 'formAnswers' = any(w.fields) then jsonb_build_object('answers', n.answers) else '{}'::jsonb end
            || case when cardinality(array_remove(w.fields, 'formAnswers')) > 0 and n.contact_id is not null then
                 jsonb_build_object('contact', (select webhook_contact(c, w.fields) from contact c
                   where c.id = n.contact_id and c.account_id = n.account_id)) else '{}'::jsonb end as payload
            from new_rows n join old_rows o on o.id = n.id
            join webhook w on w.account_id = n.account_id and w.status in ('ACTIVE', 'FAILING')
             and 'form.submitted' = any(w.event_types)
           where o.outcome is null and n.outcome is not null) x
    cross join lateral (select octet_length(x.payload::text) as size) s
   order by x.seq, x.webhook_id;
  return null;
end $$;`);
    this.addSql(`create trigger form_submission_webhook_update after update on form_submission
      referencing old table as old_rows new table as new_rows for each statement execute function webhook_outbox_form();`);
  }

  override async down(): Promise<void> {
    this.addSql(webhookContact(null));
    this.addSql(`drop table if exists "form_submission" cascade;`);
    this.addSql(`drop function if exists webhook_outbox_form();`);
    this.addSql(`drop table if exists "form_version" cascade;`);
    this.addSql(`drop table if exists "form" cascade;`);
    this.addSql(`update "contact" set "email_status" = 'VALID' where "email_status" = 'UNCONFIRMED';`);
    this.addSql(`alter table "contact" drop constraint if exists "contact_email_status_check";`);
    this.addSql(`alter table "contact" add constraint "contact_email_status_check" check ("email_status" in
      ('VALID', 'SOFT_BOUNCED', 'HARD_BOUNCED', 'COMPLAINED', 'UNSUBSCRIBED'));`);
  }
}
