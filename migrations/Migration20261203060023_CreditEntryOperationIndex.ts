import { Migration } from '@mikro-orm/migrations';

/** Operation.credits reads what one operation used: an index on the ledger's operation. */
export class Migration20261203060023_CreditEntryOperationIndex extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create index credit_entry_operation_index on credit_entry (operation_id) where operation_id is not null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "credit_entry_operation_index";`);
  }
}
