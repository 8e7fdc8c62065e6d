import { Migration } from '@mikro-orm/migrations';

/** contact.sms_status: SMS opt-out by a STOP reply (src/modules/sms-replies/); every row starts SUBSCRIBED. */
export class Migration20261202210123_SmsStatus extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "contact" add column "sms_status" text check ("sms_status" in ('SUBSCRIBED', 'OPTED_OUT')) not null default 'SUBSCRIBED';`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "contact" drop column "sms_status";`);
  }
}
