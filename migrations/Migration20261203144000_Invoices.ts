import { Migration } from '@mikro-orm/migrations';

/**
 * Invoices and credits (issue 16), SQL-owned tables (listed in src/db/orm.ts skipTables, like
 * tracking_hit): purchases of credit packs, the per-account gapless series counters, invoices and
 * credit notes with their lines, and the account's billing details.
 *
 * Gapless numbering: `invoice_series.next_number` is taken with `update ... set next_number =
 * next_number + 1 returning` inside the issuing transaction, so concurrent issues queue on the
 * series row and a rollback returns the number (no sequence: sequences leave holes).
 *
 * Immutability: triggers refuse DELETE of an invoice or a line, any UPDATE of a line, and an
 * UPDATE of an invoice's issued content; only the payment columns (status, paid_at) may change.
 */
export class Migration20261203144000_Invoices extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "billing_details" ("account_id" uuid primary key references "account" ("id") on delete cascade,
      "company_name" varchar(200) not null, "address_lines" text[] not null default '{}', "postcode" varchar(20) not null,
      "city" varchar(120) not null, "country" char(2) not null, "vat_number" varchar(20) null,
      "updated_at" timestamptz not null default now());`);
    this.addSql(`create table "credit_purchase" ("id" uuid primary key default gen_random_uuid(),
      "account_id" uuid not null references "account" ("id") on delete cascade,
      "pack_id" varchar(40) not null, "kind" varchar(10) not null check ("kind" in ('EMAIL', 'SMS')),
      "credits" integer not null check ("credits" > 0), "quantity" integer not null check ("quantity" between 1 and 1000),
      "unit_price" numeric(14,2) not null check ("unit_price" >= 0), "vat_rate" numeric(5,2) not null, "currency" char(3) not null,
      "status" varchar(10) not null default 'PENDING' check ("status" in ('PENDING', 'APPROVED', 'REJECTED')),
      "requested_by" uuid null, "decided_by" uuid null, "reason" text null, "invoice_id" uuid null,
      "created_at" timestamptz not null default now(), "decided_at" timestamptz null);`);
    this.addSql(
      `create index "credit_purchase_account_id_created_at_index" on "credit_purchase" ("account_id", "created_at");`,
    );
    this.addSql(`create table "invoice_series" ("account_id" uuid not null references "account" ("id") on delete cascade,
      "series" varchar(20) not null, "next_number" integer not null default 1,
      constraint "invoice_series_pkey" primary key ("account_id", "series"));`);
    this.addSql(`create table "invoice" ("id" uuid primary key default gen_random_uuid(),
      "account_id" uuid not null references "account" ("id") on delete restrict,
      "type" varchar(12) not null check ("type" in ('INVOICE', 'CREDIT_NOTE')),
      "series" varchar(20) not null, "seq" integer not null, "number" varchar(40) not null,
      "credit_of" uuid null references "invoice" ("id") on delete restrict, "reason" text null,
      "purchase_id" uuid null references "credit_purchase" ("id") on delete restrict,
      "seller" jsonb not null, "buyer" jsonb not null, "currency" char(3) not null,
      "total_excl_tax" numeric(14,2) not null, "total_vat" numeric(14,2) not null, "total_incl_tax" numeric(14,2) not null,
      "issue_date" date not null, "due_date" date not null,
      "status" varchar(10) not null check ("status" in ('UNPAID', 'PAID', 'ISSUED')), "paid_at" timestamptz null,
      "credited" boolean not null default false, "created_at" timestamptz not null default now(),
      constraint "invoice_number_unique" unique ("account_id", "number"),
      constraint "invoice_series_seq_unique" unique ("account_id", "series", "seq"));`);
    this.addSql(`create table "invoice_line" ("invoice_id" uuid not null references "invoice" ("id") on delete restrict,
      "position" smallint not null, "label" text not null, "quantity" integer not null,
      "unit_price" numeric(14,2) not null, "vat_rate" numeric(5,2) not null,
      "total_excl_tax" numeric(14,2) not null, "vat" numeric(14,2) not null,
      constraint "invoice_line_pkey" primary key ("invoice_id", "position"));`);
    // One credit note per invoice (issueCreditNote checks it under the invoice's lock; the index
    // makes it hold whatever writes, and serves the lookup of an invoice's credit note).
    this.addSql(
      `create unique index "invoice_credit_of_unique" on "invoice" ("credit_of") where "credit_of" is not null;`,
    );
    this.addSql(`create function invoice_immutable() returns trigger language plpgsql as $$
      begin
        if tg_op = 'DELETE' then
          raise exception 'an issued % is never deleted (issue a credit note)', tg_table_name using errcode = '55000';
        end if;
        if tg_table_name = 'invoice_line' then
          raise exception 'an issued % is never updated (issue a credit note)', tg_table_name using errcode = '55000';
        end if;
        -- Only status, paid_at and credited (payment and ledger state) may change.
        if (row(new.account_id, new.type, new.series, new.seq, new.number, new.credit_of,
            new.reason, new.purchase_id, new.seller, new.buyer, new.currency, new.total_excl_tax, new.total_vat,
            new.total_incl_tax, new.issue_date, new.due_date, new.created_at) is distinct from
            row(old.account_id, old.type, old.series, old.seq, old.number, old.credit_of, old.reason, old.purchase_id,
            old.seller, old.buyer, old.currency, old.total_excl_tax, old.total_vat, old.total_incl_tax, old.issue_date,
            old.due_date, old.created_at)) then
          raise exception 'an issued % is never updated (issue a credit note)', tg_table_name using errcode = '55000';
        end if;
        return new;
      end $$;`);
    this.addSql(
      `create trigger "invoice_immutable" before update or delete on "invoice" for each row execute function invoice_immutable();`,
    );
    this.addSql(
      `create trigger "invoice_line_immutable" before update or delete on "invoice_line" for each row execute function invoice_immutable();`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "invoice_line" cascade;`);
    this.addSql(`drop table if exists "invoice" cascade;`);
    this.addSql(`drop function if exists invoice_immutable();`);
    this.addSql(`drop table if exists "invoice_series" cascade;`);
    this.addSql(`drop table if exists "credit_purchase" cascade;`);
    this.addSql(`drop table if exists "billing_details" cascade;`);
  }
}
