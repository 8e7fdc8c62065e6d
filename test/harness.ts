import { randomBytes } from 'node:crypto';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import pg from 'pg';
import { inject } from 'vitest';
import WebSocket from 'ws';
import { type Config, loadConfig } from '../src/config.js';
import type { AccessLevel, Feature } from '../src/modules/access/access.js';
import { type App, buildApp } from '../src/server.js';
import { createLogger } from '../src/shared/logger.js';
import { AcceptInvitationDocument, InviteUserDocument, SignUpDocument } from './generated/graphql.js';

export interface GqlError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; [k: string]: unknown };
}
export interface GqlResult<T> {
  data?: T | null;
  errors?: GqlError[];
  status: number;
}

/** A database cloned from the migrated template, for one test file. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = inject('adminUrl');
  const name = `cible_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client(adminUrl);
  await admin.connect();
  await admin.query(`create database ${name} template ${inject('templateDb')}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client(adminUrl);
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export interface TestApp {
  app: App;
  url: string;
  wsUrl: string;
  /** Direct SQL on the test database, for assertions the API does not expose. */
  sql: pg.Pool;
  gql<R, V extends Record<string, unknown>>(
    doc: TypedDocumentNode<R, V> | string,
    variables?: V,
    token?: string | null,
  ): Promise<GqlResult<R>>;
  ws(token?: string | null): Client;
  close(): Promise<void>;
}

/** A running app on its own database, or on `opts.databaseUrl` to share one with another app. */
export async function startTestApp(
  env: Record<string, string> = {},
  opts: { databaseUrl?: string } = {},
): Promise<TestApp & { databaseUrl: string }> {
  const db = opts.databaseUrl ? { url: opts.databaseUrl, drop: async () => {} } : await createTestDatabase();
  const config: Config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env });
  const app = await buildApp(config, { databaseUrl: db.url, logger: createLogger('silent') });
  const url = await app.start();
  const wsUrl = url.replace(/^http/, 'ws');
  const sql = new pg.Pool({ connectionString: db.url, max: 3 });
  // The file's database is dropped WITH (FORCE) at the end: a client still closing then gets
  // 57P01 ("terminating connection due to administrator command"), which an idle pool client
  // re-emits on its pool: without a listener that is an uncaught exception failing the run.
  sql.on('error', () => {});
  const clients: Client[] = [];
  return {
    app,
    url,
    wsUrl,
    sql,
    databaseUrl: db.url,
    async gql(doc, variables, token) {
      const query = typeof doc === 'string' ? doc : print(doc);
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as Omit<GqlResult<never>, 'status'>;
      return { ...body, status: res.status } as GqlResult<never>;
    },
    ws(token) {
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
        // Closes are asserted by the tests themselves; the default would print them.
        onNonLazyError: () => {},
        connectionParams: token ? { authorization: `Bearer ${token}` } : undefined,
      });
      clients.push(client);
      return client;
    },
    async close() {
      for (const c of clients) await c.dispose();
      await app.stop();
      await sql.end();
      await db.drop();
    },
  };
}

export const code = (r: GqlResult<unknown>) => r.errors?.[0]?.extensions?.code ?? null;

/** Throws with the errors when a call that should succeed did not. */
export function ok<T>(r: GqlResult<T>): T {
  if (r.errors?.length || !r.data) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`);
  return r.data;
}

let counter = 0;
export const uniqueEmail = (prefix = 'user') => `${prefix}.${Date.now()}.${counter++}@example.com`;
export const PASSWORD = 'correct horse battery';

export interface Actor {
  token: string;
  userId: string;
  email: string;
  /** The account (read from the database once, at sign-up; members share the owner's). */
  accountId: string;
}

export async function signUpOwner(t: TestApp, accountName = 'Acme'): Promise<Actor> {
  const email = uniqueEmail('owner');
  const r = ok(
    await t.gql(SignUpDocument, { input: { accountName, name: 'Owner', email, password: PASSWORD } }),
  );
  const { rows } = await t.sql.query<{ account_id: string }>(
    'select account_id from app_user where id = $1',
    [r.signUp.user.id],
  );
  return { token: r.signUp.token, userId: r.signUp.user.id, email, accountId: rows[0].account_id };
}

/** The invitation token from the newest outbox mail to `email` (read as the owner would). */
export async function invitationTokenFor(t: TestApp, email: string): Promise<string> {
  const { rows } = await t.sql.query(
    'select text from outbox_message where "to" = $1 order by id desc limit 1',
    [email],
  );
  const m = /token=([A-Za-z0-9_%-]+)/.exec(rows[0]?.text ?? '');
  if (!m) throw new Error(`no invitation mail for ${email}`);
  return decodeURIComponent(m[1]);
}

/**
 * A user of the owner's account with exactly these rights (others NONE), logged in. `tokenOf`
 * reads the invitation where the app mailed it: the outbox by default, a test's SMTP server else.
 */
export async function viewerWith(
  t: TestApp,
  owner: Actor,
  rights: Partial<Record<Feature, AccessLevel>>,
  tokenOf: (email: string) => Promise<string> = (email) => invitationTokenFor(t, email),
): Promise<Actor> {
  const email = uniqueEmail('member');
  const invited = ok(
    await t.gql(
      InviteUserDocument,
      {
        input: {
          email,
          name: 'Member',
          rights: Object.entries(rights).map(([feature, level]) => ({
            feature: feature as Feature,
            level: level as AccessLevel,
          })),
        },
      },
      owner.token,
    ),
  );
  const token = await tokenOf(email);
  const accepted = ok(await t.gql(AcceptInvitationDocument, { input: { token, password: PASSWORD } }));
  return {
    token: accepted.acceptInvitation.token,
    userId: invited.inviteUser.id,
    email,
    accountId: owner.accountId,
  };
}

/** Resolves with the first `n` results of a subscription. */
export function nextResults<T = unknown>(
  client: Client,
  // biome-ignore lint/suspicious/noExplicitAny: any variables shape; they are passed through as given
  query: TypedDocumentNode<T, any> | string,
  n = 1,
  variables?: Record<string, unknown>,
): { results: Promise<{ data?: T; errors?: GqlError[] }[]>; stop(): void } {
  const got: { data?: T; errors?: GqlError[] }[] = [];
  let stop = () => {};
  const results = new Promise<{ data?: T; errors?: GqlError[] }[]>((resolve, reject) => {
    stop = client.subscribe(
      { query: typeof query === 'string' ? query : print(query), variables },
      {
        next: (v) => {
          got.push(v as { data?: T; errors?: GqlError[] });
          if (got.length >= n) resolve(got);
        },
        error: (e) => reject(e),
        complete: () => resolve(got),
      },
    );
  });
  return { results, stop: () => stop() };
}
