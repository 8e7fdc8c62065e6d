import { Migration } from '@mikro-orm/migrations';

/**
 * operation_recipient loses its foreign key to operation: checked row by row, it cost 6.3 s of a
 * 17.8 s freeze of 1,000,000 recipients (bench/sending.ts --only freeze). The cascade it gave is
 * kept by a statement trigger on operation (also fired by the cascade from a deleted account).
 * Only the sending engine inserts recipients, for an operation it holds under its row lock.
 */
export class Migration20261203074142_RecipientCascadeTrigger extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "operation_recipient" drop constraint "operation_recipient_operation_id_foreign";`,
    );
    this.addSql(`create function operation_recipient_cascade() returns trigger language plpgsql as $$
begin
  delete from operation_recipient r using old_rows o where r.operation_id = o.id;
  return null;
end $$;`);
    this.addSql(
      'create trigger operation_recipient_cascade after delete on operation referencing old table as old_rows for each statement execute function operation_recipient_cascade();',
    );
  }

  override async down(): Promise<void> {
    this.addSql('drop trigger operation_recipient_cascade on operation;');
    this.addSql('drop function operation_recipient_cascade();');
    this.addSql(
      `alter table "operation_recipient" add constraint "operation_recipient_operation_id_foreign" foreign key ("operation_id") references "operation" ("id") on update cascade on delete cascade;`,
    );
  }
}
