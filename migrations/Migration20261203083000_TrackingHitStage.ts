import { Migration } from '@mikro-orm/migrations';

/**
 * tracking_hit: where the tracking endpoints commit a hit before they answer it (durable: a logged
 * table, so an answered hit survives a crash), with no index and no trigger, so a hit's commit
 * costs a heap insert. tracking.writer.ts moves the staged hits into contact_event in large
 * set-based batches behind the answers (at most TRACKING_MOVE_MS after their commit), where the
 * machine timing rules run and contact_event's statement triggers (activity, segments, operation
 * statistics, any later one) fire once per move instead of once per handful of hits.
 *
 * Rows are deleted as they are moved: autovacuum is told to come after 10,000 dead rows whatever
 * the table's size (the default scale factor would wait for 20% of a table that is mostly empty).
 * Not an entity: only the tracking writer reads and writes it (skipTables in src/db/orm.ts).
 */
export class Migration20261203083000_TrackingHitStage extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table tracking_hit (account_id uuid not null, contact_id bigint not null, type smallint not null, occurred_at timestamptz not null, operation_id uuid null, url text null, machine boolean not null) with (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000, autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 10000);`,
    );
  }

  override async down(): Promise<void> {
    // Stop the servers first: each moves what it staged when it stops, so nothing staged is lost.
    this.addSql('drop table tracking_hit;');
  }
}
