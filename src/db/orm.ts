import { Migrator } from '@mikro-orm/migrations';
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { ENTITIES } from './entities.js';
import { migrationsList } from './migrations-list.js';

/** MikroORM options for one database URL; migrations are listed statically (see STACK-NOTES). */
export function ormOptions(clientUrl: string, opts: { debug?: boolean; pool?: number } = {}): Options {
  return {
    clientUrl,
    entities: ENTITIES,
    extensions: [Migrator],
    debug: opts.debug ?? false,
    pool: { min: 0, max: opts.pool ?? 10 },
    // The code never relies on implicit global context: every request forks its own manager.
    allowGlobalContext: false,
    forceUtcTimezone: true,
    // Agenda's job table is created by a migration and owned by @agendajs/postgres-backend.
    schemaGenerator: {
      skipTables: [
        'agenda_jobs',
        // Invoices (issue 16): SQL-owned, see migrations/Migration20261203144000_Invoices.ts.
        'billing_details',
        'credit_purchase',
        'invoice',
        'invoice_line',
        'invoice_series',
        // The mail queue: SQL-owned, see migrations/Migration20261204220000_MailQueue.ts.
        'mail_queue',
        // Forms (issue 15): SQL-owned, see migrations/Migration20261204190000_Forms.ts.
        'form',
        'form_submission',
        'form_version',
        'contact_activity',
        'contact_recent',
        'operation_contact_stat',
        'operation_stat',
        'tracking_hit',
      ],
    },
    migrations: {
      path: 'migrations',
      pathTs: 'migrations',
      tableName: 'mikro_orm_migrations',
      migrationsList,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      emit: 'ts',
      silent: true,
    },
  };
}

export async function openOrm(
  clientUrl: string,
  opts?: { debug?: boolean; pool?: number },
): Promise<MikroORM> {
  return MikroORM.init(ormOptions(clientUrl, opts));
}

export async function migrate(orm: MikroORM): Promise<void> {
  await orm.getMigrator().up();
}
