import { Migration } from '@mikro-orm/migrations';

/**
 * Deleting a contact erases the contact fields and form answers that webhook deliveries copied
 * from it (src/modules/webhooks/webhook.erasure.ts); this index finds them by the contact id
 * their payloads carry, without reading the account's whole delivery log.
 */
export class Migration20261205010000_WebhookErasure extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create index webhook_delivery_contact_index on webhook_delivery (account_id, ((payload ->> 'contactId'))) where payload ->> 'contactId' is not null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists webhook_delivery_contact_index;`);
  }
}
