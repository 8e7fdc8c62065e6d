import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditEntryAddedDocument,
  AuditLogDocument,
  type AuditLogQuery,
  DeleteUserDocument,
  InviteUserDocument,
  UpdateAccountSettingsDocument,
  UpdateUserDocument,
} from '../../../test/generated/graphql.js';
import {
  type Actor,
  code,
  nextResults,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
  uniqueEmail,
  viewerWith,
} from '../../../test/harness.js';
import { CLOSE_REVOKED } from '../../realtime/ws.js';

let t: TestApp;
let owner: Actor;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
});
afterAll(() => t.close());

describe('history', () => {
  it('records who, what, which object, the diff, the IP and the time of each mutation', async () => {
    const member = await viewerWith(t, owner, { CONTACTS: 'GUEST' });
    const start = new Date(Date.now() - 1000);
    ok(await t.gql(UpdateUserDocument, { input: { id: member.userId, name: 'New Name' } }, owner.token));
    const log = ok(
      await t.gql(
        AuditLogDocument,
        { filter: { action: 'updateUser', objectId: member.userId } },
        owner.token,
      ),
    ).auditLog.nodes;
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      userId: owner.userId,
      userEmail: owner.email,
      action: 'updateUser',
      feature: 'USERS',
      objectType: 'User',
      objectId: member.userId,
      diff: { name: { from: 'Member', to: 'New Name' } },
    });
    expect(log[0].ip).toMatch(/127\.0\.0\.1/);
    expect(new Date(log[0].createdAt).getTime()).toBeGreaterThanOrEqual(start.getTime());
  });

  it('writes no entry for a failed or a denied mutation', async () => {
    const count = async () =>
      (await t.sql.query('select count(*)::int as n from audit_entry')).rows[0].n as number;
    const before = await count();
    expect(
      code(await t.gql(InviteUserDocument, { input: { email: owner.email, name: 'Dup' } }, owner.token)),
    ).toBe('CONFLICT');
    const guest = await viewerWith(t, owner, { USERS: 'GUEST' });
    const afterSetup = await count();
    expect(afterSetup).toBeGreaterThan(before); // the invitation and its acceptance are history
    expect(code(await t.gql(DeleteUserDocument, { id: owner.userId }, guest.token))).toBe('FORBIDDEN');
    expect(
      code(await t.gql(UpdateAccountSettingsDocument, { input: { rejectDuplicates: true } }, guest.token)),
    ).toBe('FORBIDDEN');
    expect(await count()).toBe(afterSetup);
  });

  it('everyone reads their own history; reading others needs USERS >= GUEST', async () => {
    const plain = await viewerWith(t, owner, { CONTACTS: 'EDITOR' });
    const mine = ok(await t.gql(AuditLogDocument, {}, plain.token)).auditLog.nodes;
    expect(mine.length).toBeGreaterThan(0); // acceptInvitation
    expect(mine.every((e) => e.userId === plain.userId)).toBe(true);
    expect(code(await t.gql(AuditLogDocument, { filter: { userId: owner.userId } }, plain.token))).toBe(
      'FORBIDDEN',
    );

    const reader = await viewerWith(t, owner, { USERS: 'GUEST' });
    const others = ok(await t.gql(AuditLogDocument, { filter: { userId: owner.userId } }, reader.token))
      .auditLog.nodes;
    expect(others.length).toBeGreaterThan(0);
    expect(others.every((e) => e.userId === owner.userId)).toBe(true);
  });

  it('pages with cursors and filters by feature and time range, never across accounts', async () => {
    const other = await signUpOwner(t, 'Other');
    ok(await t.gql(UpdateAccountSettingsDocument, { input: { accountName: 'Other Renamed' } }, other.token));
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: AuditLogQuery['auditLog'] = ok(
        await t.gql(AuditLogDocument, { first: 3, after }, owner.token),
      ).auditLog;
      seen.push(...page.nodes.map((n) => n.id));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    const { rows } = await t.sql.query(
      'select id::text as key from audit_entry where account_id = $1 order by id desc',
      [owner.accountId],
    );
    expect(seen).toEqual(rows.map((r) => r.key));

    const settings = ok(await t.gql(AuditLogDocument, { filter: { feature: 'SETTINGS' } }, other.token))
      .auditLog.nodes;
    expect(settings.map((e) => e.action)).toEqual(['updateAccountSettings']);
    const future = ok(
      await t.gql(
        AuditLogDocument,
        { filter: { from: new Date(Date.now() + 3_600_000).toISOString() } },
        owner.token,
      ),
    ).auditLog.nodes;
    expect(future).toEqual([]);
    expect(code(await t.gql(AuditLogDocument, { after: 'garbage' }, owner.token))).toBe('BAD_USER_INPUT');
  });
});

describe('auditEntryAdded', () => {
  it('streams over graphql-ws the entries of a mutation made over HTTP', async () => {
    const client = t.ws(owner.token);
    const sub = nextResults(client, AuditEntryAddedDocument, 1);
    await new Promise((r) => setTimeout(r, 200));
    const email = uniqueEmail('streamed');
    const invited = ok(
      await t.gql(InviteUserDocument, { input: { email, name: 'Streamed' } }, owner.token),
    ).inviteUser;
    const [first] = await sub.results;
    expect(first.errors).toBeUndefined();
    expect(first.data?.auditEntryAdded).toMatchObject({
      action: 'inviteUser',
      objectId: invited.id,
      userId: owner.userId,
    });
    sub.stop();
  });

  it("does not stream another account's entries, nor others' entries without USERS >= GUEST", async () => {
    const plain = await viewerWith(t, owner, { CONTACTS: 'GUEST' });
    const stranger = await signUpOwner(t, 'Stranger');
    const plainSub = nextResults(t.ws(plain.token), AuditEntryAddedDocument, 1);
    const strangerSub = nextResults(t.ws(stranger.token), AuditEntryAddedDocument, 1);
    await new Promise((r) => setTimeout(r, 200));
    ok(await t.gql(InviteUserDocument, { input: { email: uniqueEmail(), name: 'Quiet' } }, owner.token));
    // Stranger's own action is the first thing it hears; plain hears nothing of the owner's.
    ok(await t.gql(UpdateAccountSettingsDocument, { input: { accountName: 'Mine' } }, stranger.token));
    const [s] = await strangerSub.results;
    expect(s.data?.auditEntryAdded.action).toBe('updateAccountSettings');
    const raced = await Promise.race([
      plainSub.results,
      new Promise((r) => setTimeout(() => r('silent'), 500)),
    ]);
    expect(raced).toBe('silent');
    plainSub.stop();
    strangerSub.stop();
  });

  it('closes the socket of a user at once when they are deleted', async () => {
    const member = await viewerWith(t, owner, { USERS: 'GUEST' });
    const client = t.ws(member.token);
    const closed = new Promise<number>((resolve) =>
      client.on('closed', (e) => resolve((e as { code: number }).code)),
    );
    const sub = nextResults(client, AuditEntryAddedDocument, 100);
    await new Promise((r) => setTimeout(r, 200));
    ok(await t.gql(DeleteUserDocument, { id: member.userId }, owner.token));
    expect(await closed).toBe(CLOSE_REVOKED);
    await expect(sub.results).rejects.toBeDefined();
  });
});
