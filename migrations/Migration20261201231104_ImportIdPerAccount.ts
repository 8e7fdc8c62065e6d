import { Migration } from '@mikro-orm/migrations';

/**
 * An import's id may be chosen by the client: as a global key, another account's id answered
 * CONFLICT, which told that it exists. Keyed by (account_id, id), each account has its own ids;
 * its row results carry the account too. Existing rows take their import's account.
 */
export class Migration20261201231104_ImportIdPerAccount extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "contact_import" drop constraint "contact_import_pkey";`);
    this.addSql(
      `alter table "contact_import" add constraint "contact_import_pkey" primary key ("account_id", "id");`,
    );
    this.addSql(`alter table "contact_import_row" drop constraint "contact_import_row_pkey";`);
    this.addSql(`alter table "contact_import_row" add column "account_id" uuid null;`);
    this.addSql(
      `update "contact_import_row" r set "account_id" = i."account_id" from "contact_import" i where i."id" = r."import_id";`,
    );
    // Results of an import that no longer exists (its account was deleted): nobody can read them.
    this.addSql(`delete from "contact_import_row" where "account_id" is null;`);
    this.addSql(`alter table "contact_import_row" alter column "account_id" set not null;`);
    this.addSql(
      `alter table "contact_import_row" add constraint "contact_import_row_pkey" primary key ("account_id", "import_id", "row_number");`,
    );
  }

  override async down(): Promise<void> {
    // Fails if two accounts chose the same id since: such imports cannot share one key again.
    this.addSql(`alter table "contact_import" drop constraint "contact_import_pkey";`);
    this.addSql(`alter table "contact_import" add constraint "contact_import_pkey" primary key ("id");`);
    this.addSql(`alter table "contact_import_row" drop constraint "contact_import_row_pkey";`);
    this.addSql(`alter table "contact_import_row" drop column "account_id";`);
    this.addSql(
      `alter table "contact_import_row" add constraint "contact_import_row_pkey" primary key ("import_id", "row_number");`,
    );
  }
}
