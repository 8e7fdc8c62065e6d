/**
 * What the multi-process sending tests need around real server children: a database with no
 * server in this process (an in-process app would run Agenda too and send its own share, through
 * its own transport), a client of a child's GraphQL endpoint shaped like the harness's TestApp so
 * the operations fixtures work unchanged, and a validated Emailing to n contacts made in SQL.
 */
import { print } from 'graphql';
import pg from 'pg';
import {
  type Actor,
  createTestDatabase,
  type GqlResult,
  ok,
  type TestApp,
} from '../../../../test/harness.js';
import { emailing, ops } from '../../operations/testing/helpers.js';

export interface RemoteApp {
  /** A TestApp whose gql goes to a child server (only `gql` and `sql` are usable). */
  t: TestApp;
  databaseUrl: string;
  /** Points gql at another child (when the first one is dead). */
  retarget(url: string): void;
  close(): Promise<void>;
}

export async function remoteDatabase(): Promise<RemoteApp> {
  const db = await createTestDatabase();
  const sql = new pg.Pool({ connectionString: db.url, max: 3 });
  // The database is dropped WITH (FORCE) at the end: an idle client then gets 57P01.
  sql.on('error', () => {});
  let url = '';
  const gql = async (doc: unknown, variables?: unknown, token?: string | null) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query: typeof doc === 'string' ? doc : print(doc as never), variables }),
    });
    return { ...((await res.json()) as object), status: res.status } as GqlResult<never>;
  };
  const t = { sql, gql } as unknown as TestApp;
  return {
    t,
    databaseUrl: db.url,
    retarget: (u) => {
      url = u;
    },
    async close() {
      await sql.end();
      await db.drop();
    },
  };
}

/** n contacts c<i>@<tag>.test named F<i>, in SQL (what is tested is the engine, not imports). */
export async function contactsInSql(t: TestApp, accountId: string, tag: string, n: number): Promise<void> {
  await t.sql.query(
    `insert into contact (account_id, email, first_name, unique_value)
     select $1, 'c' || g || '@${tag}.test', 'F' || g, 'c' || g || '@${tag}.test' from generate_series(1, $2::int) g`,
    [accountId, n],
  );
}

/** An Emailing to the contacts of @<tag>.test, submitted and validated with scheduleNow. */
export async function validatedNow(t: TestApp, owner: Actor, tag: string): Promise<string> {
  const segmentId = ok(
    await t.gql<{ createSegment: { id: string } }, Record<string, unknown>>(
      'mutation($input: CreateSegmentInput!) { createSegment(input: $input) { id } }',
      {
        input: { name: tag, criterion: { field: { name: 'email', op: 'CONTAINS', value: `@${tag}.test` } } },
      },
      owner.token,
    ),
  ).createSegment.id;
  const o = ops(t);
  const input = {
    ...emailing(`Send ${tag}`),
    audience: { segmentIds: [segmentId] },
    email: {
      ...emailing().email,
      subject: 'Hi {{ contact.firstName }}',
      html: '<p>Dear {{ contact.firstName }}</p>',
    },
  };
  const id = ok(await o.create(owner, input)).createOperation.id;
  ok(await o.step(owner, 'submitOperation', id));
  ok(await o.step(owner, 'validateOperation', id, ', scheduleNow: true'));
  return id;
}

/** Polls until `check` answers true; throws with `what` after `ms`. */
export async function waitFor(what: () => string, check: () => Promise<boolean> | boolean, ms: number) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out: ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
