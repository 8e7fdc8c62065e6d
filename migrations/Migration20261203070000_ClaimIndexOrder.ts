import { Migration } from '@mikro-orm/migrations';

/**
 * The claim's index in the claim's order, (operation_id, due_at, contact_id): every row of a
 * freeze has the same due_at, so with (operation_id, due_at) alone each claim sorted every row
 * left to take its batch of 100 (PostgreSQL's CPU per message grew with the audience).
 */
export class Migration20261203070000_ClaimIndexOrder extends Migration {
  override async up(): Promise<void> {
    this.addSql('drop index if exists operation_recipient_claimable_index;');
    this.addSql(
      `create index operation_recipient_claimable_index on operation_recipient (operation_id, due_at, contact_id) where status in ('PENDING', 'DEFERRED', 'CLAIMED');`,
    );
  }

  override async down(): Promise<void> {
    this.addSql('drop index if exists operation_recipient_claimable_index;');
    this.addSql(
      `create index operation_recipient_claimable_index on operation_recipient (operation_id, due_at) where status in ('PENDING', 'DEFERRED', 'CLAIMED');`,
    );
  }
}
