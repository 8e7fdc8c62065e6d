import { Migration } from '@mikro-orm/migrations';

/** Test sends (sendTestOperation): one row per call, which the hourly limit per operation sums. */
export class Migration20261202192741_OperationTestSends extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "operation_test_send" ("id" bigserial primary key, "account_id" uuid not null, "operation_id" uuid not null, "user_id" uuid not null, "recipients" int not null, "created_at" timestamptz not null default now());`,
    );
    this.addSql(
      `create index "operation_test_send_operation_id_created_at_index" on "operation_test_send" ("operation_id", "created_at");`,
    );

    this.addSql(
      `alter table "operation_test_send" add constraint "operation_test_send_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "operation_test_send" add constraint "operation_test_send_operation_id_foreign" foreign key ("operation_id") references "operation" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "operation_test_send" cascade;`);
  }
}
