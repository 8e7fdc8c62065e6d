import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from './embedded.js';

/**
 * A throw-away empty database for tooling (migration create/check): on TEST_DATABASE_URL's
 * server when set, else on a temporary embedded PostgreSQL.
 */
export async function withScratchDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const name = `cible_scratch_${process.pid}_${Date.now()}`;
  const external = process.env.TEST_DATABASE_URL;
  let adminUrl: string;
  let urlFor: (db: string) => string;
  let stop = async () => {};
  if (external) {
    adminUrl = external;
    urlFor = (db) => {
      const u = new URL(external);
      u.pathname = `/${db}`;
      return u.toString();
    };
  } else {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cible-scratch-'));
    const db = await startEmbeddedPostgres({ dir, ephemeral: true });
    adminUrl = db.adminUrl;
    urlFor = db.urlFor;
    stop = async () => {
      await db.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  const admin = new pg.Client(adminUrl);
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
    try {
      return await fn(urlFor(name));
    } finally {
      await admin.query(`drop database if exists ${name} with (force)`);
    }
  } finally {
    await admin.end();
    await stop();
  }
}
