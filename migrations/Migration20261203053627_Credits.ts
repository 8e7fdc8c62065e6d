import { Migration } from '@mikro-orm/migrations';

/**
 * The credit ledger (src/modules/credits): entries, balances, reservations. Accounts made before
 * credits existed get the default free allowance (FREE_EMAIL_CREDITS, FREE_SMS_CREDITS), as a new
 * account does, so their scheduled sends keep working.
 */
export class Migration20261203053627_Credits extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "credit_balance" ("account_id" uuid not null, "kind" text check ("kind" in ('EMAIL', 'SMS')) not null, "balance" bigint not null default 0, "reserved" bigint not null default 0, "updated_at" timestamptz not null default now(), constraint "credit_balance_pkey" primary key ("account_id", "kind"), constraint credit_balance_not_negative check (balance >= 0), constraint credit_balance_reserved_covered check (reserved >= 0 and reserved <= balance));`,
    );

    this.addSql(
      `create table "credit_entry" ("id" bigserial primary key, "account_id" uuid not null, "kind" text check ("kind" in ('EMAIL', 'SMS')) not null, "type" text check ("type" in ('ALLOWANCE', 'PURCHASE', 'USAGE', 'ADJUSTMENT')) not null, "amount" bigint not null, "operation_id" uuid null, "note" varchar(200) null, "created_at" timestamptz not null default now());`,
    );
    this.addSql(
      `create index "credit_entry_account_created_index" on "credit_entry" ("account_id", "kind", "created_at");`,
    );

    this.addSql(
      `create table "credit_reservation" ("operation_id" uuid not null, "account_id" uuid not null, "kind" text check ("kind" in ('EMAIL', 'SMS')) not null, "amount" bigint not null, "per_recipient" int not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "credit_reservation_pkey" primary key ("operation_id"), constraint credit_reservation_not_negative check (amount >= 0));`,
    );

    this.addSql(
      `alter table "credit_balance" add constraint "credit_balance_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "credit_entry" add constraint "credit_entry_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "credit_reservation" add constraint "credit_reservation_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(`insert into credit_entry (account_id, kind, type, amount, note)
      select a.id, k.kind, 'ALLOWANCE', k.amount, 'free allowance' from account a
      cross join (values ('EMAIL', 10000), ('SMS', 1000)) as k(kind, amount);`);
    this.addSql(`insert into credit_balance (account_id, kind, balance)
      select account_id, kind, sum(amount) from credit_entry group by account_id, kind;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "credit_balance" cascade;`);

    this.addSql(`drop table if exists "credit_entry" cascade;`);

    this.addSql(`drop table if exists "credit_reservation" cascade;`);
  }
}
