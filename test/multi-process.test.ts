import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_REVOKED } from '../src/realtime/ws.js';
import {
  AuditEntryAddedDocument,
  DeleteUserDocument,
  UpdateAccountSettingsDocument,
} from './generated/graphql.js';
import {
  type Actor,
  nextResults,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
  viewerWith,
} from './harness.js';
import { startRedis } from './redis.js';

/**
 * Two server processes' worth of apps on one database and one real Redis: an event published
 * by one reaches subscribers connected to the other (DESIGN.md "Growing past one machine").
 */
const redis = await startRedis();

describe.skipIf(!redis)('two servers sharing Redis', () => {
  let a: TestApp & { databaseUrl: string };
  let b: TestApp;
  let owner: Actor;

  beforeAll(async () => {
    a = await startTestApp({ REDIS_URL: redis!.url });
    b = await startTestApp({ REDIS_URL: redis!.url }, { databaseUrl: a.databaseUrl });
    owner = await signUpOwner(a);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await redis?.stop();
  });

  it('streams on server B the history written through server A', async () => {
    const sub = nextResults(b.ws(owner.token), AuditEntryAddedDocument, 1);
    await new Promise((r) => setTimeout(r, 300));
    ok(await a.gql(UpdateAccountSettingsDocument, { input: { accountName: 'Across' } }, owner.token));
    const [first] = await sub.results;
    expect(first.data?.auditEntryAdded).toMatchObject({
      action: 'updateAccountSettings',
      userId: owner.userId,
    });
    sub.stop();
  });

  it('closes on server B the socket of a user deleted through server A', async () => {
    const member = await viewerWith(a, owner, { USERS: 'GUEST' });
    const client = b.ws(member.token);
    const closed = new Promise<number>((resolve) =>
      client.on('closed', (e) => resolve((e as { code: number }).code)),
    );
    const sub = nextResults(client, AuditEntryAddedDocument, 100);
    await new Promise((r) => setTimeout(r, 300));
    ok(await a.gql(DeleteUserDocument, { id: member.userId }, owner.token));
    expect(await closed).toBe(CLOSE_REVOKED);
    await expect(sub.results).rejects.toBeDefined();
  });
});
