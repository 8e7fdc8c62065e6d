import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, signUpOwner, startTestApp, type TestApp } from './harness.js';

/** App.stop(): what is running finishes, what is new is refused, then everything closes. */
let shared: TestApp & { databaseUrl: string };
let owner: Actor;

beforeAll(async () => {
  shared = await startTestApp();
  owner = await signUpOwner(shared);
});
afterAll(() => shared.close());

async function until(what: string, f: () => Promise<boolean> | boolean) {
  for (let i = 0; i < 300; i++) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A session of the test that holds the contact table, so a contacts page waits for it. */
async function holdContacts(databaseUrl: string) {
  const client = new pg.Client(databaseUrl);
  await client.connect();
  await client.query('begin');
  await client.query('lock table contact in access exclusive mode');
  return {
    release: async () => {
      await client.query('commit');
      await client.end();
    },
  };
}

const waitingOnLock = async (sql: pg.Pool) => {
  const { rows } = await sql.query(
    "select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
  );
  return rows.length > 0;
};

const contactsPage = (url: string, token: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ contacts(first: 5) { nodes { id } } }' }),
  });

describe('graceful shutdown', () => {
  it('lets an in-flight request finish, refuses new ones and closes WebSockets with 1001', async () => {
    const t = await startTestApp({}, { databaseUrl: shared.databaseUrl });
    const lock = await holdContacts(shared.databaseUrl);
    let released = false;
    try {
      const ws = t.ws(owner.token);
      const connected = new Promise<void>((resolve) => ws.on('connected', () => resolve()));
      let closeCode: number | null = null;
      ws.on('closed', (e) => {
        closeCode = (e as { code: number }).code;
      });
      ws.subscribe(
        { query: 'subscription { auditEntryAdded { id } }' },
        { next() {}, error() {}, complete() {} },
      );
      await connected;

      const slow = contactsPage(t.url, owner.token);
      await until('the request to wait on the lock', () => waitingOnLock(shared.sql));

      let stopped = false;
      const stopping = t.app.stop().then(() => {
        stopped = true;
      });
      await until('the listener to close', () => !t.app.server.listening);
      await expect(fetch(t.url.replace('/graphql', '/health'))).rejects.toThrow();
      await until('the socket to close', () => closeCode !== null);
      expect(closeCode).toBe(1001);
      expect(stopped).toBe(false); // still waiting for the request

      await lock.release();
      released = true;
      const res = await slow;
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ data: { contacts: { nodes: [] } } });
      await stopping;
      expect(stopped).toBe(true);
    } finally {
      if (!released) await lock.release();
      await t.close();
    }
  });

  it('cuts a request still running at SHUTDOWN_TIMEOUT_MS instead of waiting for ever', async () => {
    const t = await startTestApp({ SHUTDOWN_TIMEOUT_MS: '200' }, { databaseUrl: shared.databaseUrl });
    const lock = await holdContacts(shared.databaseUrl);
    try {
      const slow = contactsPage(t.url, owner.token).then(
        (r) => r.status,
        () => 'cut',
      );
      await until('the request to wait on the lock', () => waitingOnLock(shared.sql));
      // The ORM's pool waits for the held query when it closes: release once the request is cut.
      const stopping = t.app.stop();
      expect(await slow).toBe('cut');
      await lock.release();
      await stopping;
    } finally {
      await lock.release().catch(() => {});
      await t.close();
    }
  });

  it('lets a running Agenda job finish before closing the pools', async () => {
    const t = await startTestApp({}, { databaseUrl: shared.databaseUrl });
    const { agenda } = t.app.services.jobs;
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = false;
    let finished = false;
    agenda.define('shutdown-test-slow', async () => {
      started = true;
      await gate;
      // The job still has its database: the pools close after it.
      await t.app.services.jobs.pool.query('select 1');
      finished = true;
    });
    await agenda.now('shutdown-test-slow');
    await until('the job to start', () => started);
    let stopped = false;
    const stopping = t.app.stop().then(() => {
      stopped = true;
    });
    await until('the listener to close', () => !t.app.server.listening);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(finished).toBe(true);
    await t.close();
  });
});
