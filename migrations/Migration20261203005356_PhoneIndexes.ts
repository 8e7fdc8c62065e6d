import { Migration } from '@mikro-orm/migrations';

/** Indexes for STOP / START replies, which name only a phone: the contacts by phone, the sent SMS by address. */
export class Migration20261203005356_PhoneIndexes extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create index contact_account_phone_index on contact (account_id, phone) where phone is not null;`,
    );

    this.addSql(
      `create index operation_recipient_sent_address_index on operation_recipient (address) where status = 'SENT';`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "contact_account_phone_index";`);

    this.addSql(`drop index "operation_recipient_sent_address_index";`);
  }
}
