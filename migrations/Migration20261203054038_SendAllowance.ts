import { Migration } from '@mikro-orm/migrations';

/** The token bucket of each rate-limited account's sends (settings.sendRatePerMinute). */
export class Migration20261203054038_SendAllowance extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "send_allowance" ("account_id" uuid not null, "tokens" double precision not null, "refilled_at" timestamptz not null, constraint "send_allowance_pkey" primary key ("account_id"));`,
    );
    this.addSql(
      `alter table "send_allowance" add constraint "send_allowance_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "send_allowance" cascade;`);
  }
}
