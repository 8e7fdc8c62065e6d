import { type Client, createClient, type SubscribePayload } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CLOSE_REVOKED } from '../src/realtime/ws.js';
import { LoginDocument, LogoutDocument, UpdateAccountSettingsDocument } from './generated/graphql.js';
import {
  type Actor,
  type GqlError,
  ok,
  PASSWORD,
  signUpOwner,
  startTestApp,
  type TestApp,
} from './harness.js';
import { listening } from './listening.js';

/**
 * Every place a graphql-ws client may put its token: the connectionParams shapes of other clients'
 * documentation, and GraphiQL's (an empty connection_init, the headers in each subscribe message).
 */
let t: TestApp;
let owner: Actor;
const clients: Client[] = [];

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
});
afterAll(async () => {
  for (const c of clients) await c.dispose();
  await t.close();
});

function connect(connectionParams?: Record<string, unknown>): { client: Client; closed: Promise<number> } {
  let onClosed: (code: number) => void = () => {};
  const closed = new Promise<number>((resolve) => {
    onClosed = resolve;
  });
  const client = createClient({
    url: t.wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => {},
    connectionParams,
    on: { closed: (e) => onClosed((e as { code: number }).code) },
  });
  clients.push(client);
  return { client, closed };
}

interface Result {
  data?: Record<string, unknown> | null;
  errors?: GqlError[];
}

/** The first thing an operation over the socket gets: its result or its errors. */
function once(client: Client, payload: SubscribePayload): Promise<Result> {
  return new Promise((resolve, reject) => {
    const stop = client.subscribe(payload, {
      next: (v) => {
        stop();
        resolve(v as Result);
      },
      error: (e) => (Array.isArray(e) ? resolve({ errors: e as GqlError[] }) : reject(e)),
      complete: () => {},
    });
  });
}

const ME = { query: '{ me { id email } }' };
const bearer = (token: string) => `Bearer ${token}`;
const asOwner = () => ({ data: { me: { id: owner.userId, email: owner.email } } });
const code = (r: Result) => r.errors?.[0]?.extensions?.code;

/** A second session of the owner, so logging it out leaves `owner.token` valid. */
async function newSession(): Promise<string> {
  return ok(await t.gql(LoginDocument, { input: { email: owner.email, password: PASSWORD } })).login.token;
}

/**
 * Subscribes to the audit log, waits until it listens, makes one audited change and resolves with
 * the first entry; the subscription stays open (as a playground's does) until the socket ends.
 */
async function firstAuditEntry(client: Client, extensions?: Record<string, unknown>): Promise<Result> {
  const ready = listening(t.app.services.pubsub, 'audit');
  const first = new Promise<Result>((resolve, reject) => {
    client.subscribe(
      { query: 'subscription { auditEntryAdded { action userId } }', extensions },
      {
        next: (v) => resolve(v as Result),
        error: (e) => (Array.isArray(e) ? resolve({ errors: e as GqlError[] }) : reject(e)),
        complete: () => {},
      },
    );
  });
  await Promise.race([ready, first]); // an error answer comes without listening
  ok(await t.gql(UpdateAccountSettingsDocument, { input: { accountName: 'Acme' } }, owner.token));
  return first;
}

const auditEntry = () => ({
  data: { auditEntryAdded: { action: 'updateAccountSettings', userId: owner.userId } },
});

describe('graphql-ws authentication', () => {
  it.each([
    ['authorization', (tk: string) => ({ authorization: bearer(tk) })],
    ['Authorization', (tk: string) => ({ Authorization: bearer(tk) })],
    ['authorization without Bearer', (tk: string) => ({ authorization: tk })],
    ['headers.Authorization', (tk: string) => ({ headers: { Authorization: bearer(tk) } })],
    ['headers.authorization', (tk: string) => ({ headers: { authorization: bearer(tk) } })],
    ['authToken', (tk: string) => ({ authToken: tk })],
    ['authToken with Bearer', (tk: string) => ({ authToken: bearer(tk) })],
  ])('reads the token from connectionParams { %s }', async (_shape, params) => {
    const { client } = connect(params(owner.token));
    expect(await once(client, ME)).toEqual(asOwner());
  });

  it('reads the token from the subscribe message’s extensions.headers, as GraphiQL sends it', async () => {
    const { client } = connect({}); // GraphiQL's connection_init carries an empty payload
    expect(
      await once(client, { ...ME, extensions: { headers: { Authorization: bearer(owner.token) } } }),
    ).toEqual(asOwner());
  });

  it('streams a subscription authenticated by extensions.headers', async () => {
    const { client } = connect({});
    expect(await firstAuditEntry(client, { headers: { Authorization: bearer(owner.token) } })).toEqual(
      auditEntry(),
    );
  });

  it('streams a subscription authenticated by connectionParams { headers: { Authorization } }', async () => {
    const { client } = connect({ headers: { Authorization: bearer(owner.token) } });
    expect(await firstAuditEntry(client)).toEqual(auditEntry());
  });

  it('lets a subscribe message’s header override the connection’s token for that operation only', async () => {
    const other = await signUpOwner(t, 'Other');
    const { client } = connect({ authorization: bearer(owner.token) });
    const asOther = await once(client, {
      ...ME,
      extensions: { headers: { authorization: bearer(other.token) } },
    });
    expect(asOther).toEqual({ data: { me: { id: other.userId, email: other.email } } });
    expect(await once(client, ME)).toEqual(asOwner());
  });

  it('answers an anonymous subscription UNAUTHENTICATED, naming every place a token is read', async () => {
    const { client } = connect({});
    const r = await once(client, { query: 'subscription { auditEntryAdded { action } }' });
    expect(code(r)).toBe('UNAUTHENTICATED');
    for (const where of ['Authorization: Bearer <token>', 'connectionParams', 'extensions.headers']) {
      expect(r.errors?.[0]?.message).toContain(where);
    }
  });

  it('refuses a subscription whose extensions.headers hold no session, and keeps the socket', async () => {
    const { client } = connect({});
    for (const value of ['Bearer cib_not-a-token', 'Bearer', 'Basic dXNlcjpwYXNz', 42]) {
      const r = await once(client, {
        query: 'subscription { auditEntryAdded { action } }',
        extensions: { headers: { Authorization: value } },
      });
      expect(code(r)).toBe('UNAUTHENTICATED');
      expect(r.errors?.[0]?.message).toContain('extensions.headers');
    }
    // The same socket still serves a valid header: one bad subscription does not end the others.
    expect(
      await once(client, { ...ME, extensions: { headers: { Authorization: bearer(owner.token) } } }),
    ).toEqual(asOwner());
  });

  it.each([
    ['an unknown token', { authorization: 'Bearer cib_not-a-token' }],
    ['a token that is not a string', { authToken: 42 }],
    ['an empty headers.Authorization', { headers: { Authorization: '' } }],
  ])('closes a connection whose connectionParams hold %s (4403)', async (_what, params) => {
    const { closed } = connect(params);
    expect(await closed).toBe(CLOSE_REVOKED);
  });

  it('closes a socket at once when the session of a subscription’s extensions.headers ends', async () => {
    const token = await newSession();
    const { client, closed } = connect({});
    expect(await firstAuditEntry(client, { headers: { Authorization: bearer(token) } })).toEqual(
      auditEntry(),
    );
    ok(await t.gql(LogoutDocument, {}, token));
    expect(await closed).toBe(CLOSE_REVOKED);

    // And the ended session's token is refused on a new socket.
    const again = connect({});
    const r = await once(again.client, { ...ME, extensions: { headers: { Authorization: bearer(token) } } });
    expect(code(r)).toBe('UNAUTHENTICATED');
  });

  it('closes a socket at once when the session of its connectionParams { authToken } ends', async () => {
    const token = await newSession();
    const { client, closed } = connect({ authToken: token });
    expect(await firstAuditEntry(client)).toEqual(auditEntry());
    ok(await t.gql(LogoutDocument, {}, token));
    expect(await closed).toBe(CLOSE_REVOKED);
  });

  it('answers a syntax error in a subscribe message with that error, without closing the socket', async () => {
    const { client } = connect({ authorization: bearer(owner.token) });
    const r = await once(client, { query: 'subscription { auditEntryAdded {' });
    expect(r.errors?.[0]?.message).toMatch(/Syntax Error/);
    expect(await once(client, ME)).toEqual(asOwner());
  });
});
