import { Migration } from '@mikro-orm/migrations';

/** SMS parts sent per operation, counted by the sending workers (what SMS credits are counted in). */
export class Migration20261202204422_SendParts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "operation_send" add column "parts" int not null default 0;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "operation_send" drop column "parts";`);
  }
}
