import { Migration } from '@mikro-orm/migrations';

/** A bounce or complaint names the operation whose message it returns, when the message says it. */
export class Migration20261202205200_BounceOperation extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "bounce" add column "operation_id" uuid null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "bounce" drop column "operation_id";`);
  }
}
