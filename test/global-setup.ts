import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { ensureDatabase } from '../src/db/database.js';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../src/db/embedded.js';
import { migrate, openOrm } from '../src/db/orm.js';

export const TEMPLATE_DB = 'cible_test_template';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    templateDb: string;
  }
}

/**
 * One PostgreSQL for the whole run (embedded unless TEST_DATABASE_URL), migrated once into a
 * template database; each test file clones the template into its own database.
 *
 * The run gets a temporary folder of its own as TMPDIR (test workers and every process they
 * start inherit it). At the end it must be empty: whatever a test, the server, `npm start` or
 * its shutdown left behind fails the run, by name.
 */
export default async function setup(project: TestProject) {
  const runTmp = await mkdtemp(path.join(os.tmpdir(), 'cible-test-run-'));
  // Enterable by others: where user namespaces are refused, root's PostgreSQL runs as `postgres`.
  await chmod(runTmp, 0o755);
  process.env.TMPDIR = runTmp;
  // tsx's compile cache (TMPDIR/tsx-<uid>) is not ours to leave behind either; `npm start` has it off.
  process.env.TSX_DISABLE_CACHE = '1';
  let embedded: EmbeddedDatabase | null = null;
  let dir: string | null = null;
  let adminUrl = process.env.TEST_DATABASE_URL ?? '';
  if (!adminUrl) {
    dir = await mkdtemp(path.join(runTmp, 'cible-test-db-'));
    embedded = await startEmbeddedPostgres({ dir, ephemeral: true });
    adminUrl = embedded.adminUrl;
  }
  const admin = new pg.Client(adminUrl);
  await admin.connect();
  await admin.query(`drop database if exists ${TEMPLATE_DB} with (force)`);
  await admin.end();
  await ensureDatabase(adminUrl, TEMPLATE_DB);
  const u = new URL(adminUrl);
  u.pathname = `/${TEMPLATE_DB}`;
  const orm = await openOrm(u.toString());
  await migrate(orm);
  await orm.close();

  project.provide('adminUrl', adminUrl);
  project.provide('templateDb', TEMPLATE_DB);

  return async () => {
    await embedded?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    const left = await readdir(runTmp);
    await rm(runTmp, { recursive: true, force: true });
    if (left.length) throw new Error(`Tests left files in the temporary folder: ${left.join(', ')}`);
  };
}
