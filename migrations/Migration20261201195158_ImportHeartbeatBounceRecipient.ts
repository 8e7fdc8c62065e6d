import { Migration } from '@mikro-orm/migrations';

/**
 * contact_import.heartbeat_at: the process running an import moves it every few seconds, so an
 * import left RUNNING by a process that died can be told from a live one and marked FAILED.
 * bounce.recipient: null (not '') when the message names no recipient.
 */
export class Migration20261201195158_ImportHeartbeatBounceRecipient extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "bounce" alter column "recipient" drop not null;`);
    this.addSql(`update "bounce" set "recipient" = null where "recipient" = '';`);
    this.addSql(`alter table "contact_import" add column "heartbeat_at" timestamptz not null default now();`);
  }

  override async down(): Promise<void> {
    this.addSql(`update "bounce" set "recipient" = '' where "recipient" is null;`);
    this.addSql(`alter table "bounce" alter column "recipient" set not null;`);
    this.addSql(`alter table "contact_import" drop column "heartbeat_at";`);
  }
}
