import { Migration } from '@mikro-orm/migrations';

/**
 * SMS delivery reports (src/modules/sms-reports/): operation_recipient.delivery, the counters
 * operation_send.sms_delivered / sms_failed, contact.sms_status INVALID (a number reported
 * undeliverable). The frequency cap's index (sending/sending.freeze.ts): an account's SENT rows
 * by time, with their contact and operation. The nullable column and the counters' constant
 * defaults change only the catalogue; the wider sms_status check is validated by one scan of
 * contact, and the index is built once over the SENT rows, both under this migration's locks.
 */
export class Migration20261203054715_SmsDeliveryFrequencyCap extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "contact" drop constraint if exists "contact_sms_status_check";`);

    this.addSql(
      `alter table "contact" add constraint "contact_sms_status_check" check("sms_status" in ('SUBSCRIBED', 'OPTED_OUT', 'INVALID'));`,
    );

    this.addSql(
      `alter table "operation_recipient" add column "delivery" text check ("delivery" in ('DELIVERED', 'FAILED', 'EXPIRED', 'REJECTED')) null;`,
    );
    this.addSql(
      `create index operation_recipient_sent_index on operation_recipient (account_id, sent_at) include (contact_id, operation_id) where status = 'SENT';`,
    );

    this.addSql(
      `alter table "operation_send" add column "sms_delivered" int not null default 0, add column "sms_failed" int not null default 0;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "contact" drop constraint if exists "contact_sms_status_check";`);

    this.addSql(
      `alter table "contact" add constraint "contact_sms_status_check" check("sms_status" in ('SUBSCRIBED', 'OPTED_OUT'));`,
    );

    this.addSql(`drop index "operation_recipient_sent_index";`);
    this.addSql(`alter table "operation_recipient" drop column "delivery";`);

    this.addSql(`alter table "operation_send" drop column "sms_delivered", drop column "sms_failed";`);
  }
}
