import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateContactDocument, UpdateAccountSettingsDocument } from '../../../test/generated/graphql.js';
import {
  type Actor,
  code,
  type GqlResult,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
} from '../../../test/harness.js';
import { settingsLock } from './account.schema.js';

/**
 * Contact writes hold key-share locks on their account's row (the foreign key) while their
 * transaction runs. The settings update must wait for its own lock, never skip the row and
 * answer NOT_FOUND, and never conflict with those key-share locks.
 */
let t: TestApp;
let owner: Actor;
beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
});
afterAll(() => t.close());

describe('account settings while contacts are written', () => {
  it('every concurrent updateAccountSettings succeeds', async () => {
    const writes: Promise<unknown>[] = [];
    const settings: Promise<GqlResult<unknown>>[] = [];
    // A transaction holding a key-share lock on the account row for the whole round.
    const holder = await t.sql.connect();
    await holder.query('begin');
    await holder.query('select 1 from account where id = $1 for key share', [owner.accountId]);
    for (let i = 0; i < 40; i++) {
      writes.push(t.gql(CreateContactDocument, { input: { email: `c${i}@lock.test` } }, owner.token));
      if (i % 4 === 0)
        settings.push(
          t.gql(UpdateAccountSettingsDocument, { input: { scoreIntervalHours: 1 + (i % 24) } }, owner.token),
        );
    }
    const answered = await Promise.all(settings);
    await holder.query('commit');
    holder.release();
    await Promise.all(writes);
    expect(answered.map(code)).toEqual(answered.map(() => null));
  });

  it('concurrent updates of the same settings are serialised, none lost from the history', async () => {
    const n = 8;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        t.gql(UpdateAccountSettingsDocument, { input: { accountName: `Acme ${i}` } }, owner.token),
      ),
    );
    expect(results.every((r) => !r.errors)).toBe(true);
    const { rows } = await t.sql.query(
      `select count(*)::int as n from audit_entry where action = 'updateAccountSettings' and diff::text like '%Acme %'`,
    );
    expect(rows[0].n).toBe(n);
  });

  it('gives up waiting for contact writers after the lock timeout: CONFLICT, nothing written', async () => {
    // A contact writer's lock (FOR SHARE) held for longer than the settings update may wait.
    const holder = await t.sql.connect();
    const saved = settingsLock.timeoutMs;
    settingsLock.timeoutMs = 200;
    try {
      await holder.query('begin');
      await holder.query('select 1 from account where id = $1 for share', [owner.accountId]);
      const answer = await t.gql(
        UpdateAccountSettingsDocument,
        { input: { accountName: 'Starved' } },
        owner.token,
      );
      expect(code(answer)).toBe('CONFLICT');
      expect(answer.errors?.[0].extensions).toMatchObject({ reason: 'CONCURRENT_CHANGE' });
      expect(answer.errors?.[0].message).toMatch(/nothing was written/);
    } finally {
      settingsLock.timeoutMs = saved;
      await holder.query('commit');
      holder.release();
    }
    const { rows } = await t.sql.query('select name from account where id = $1', [owner.accountId]);
    expect(rows[0].name).not.toBe('Starved');
    // Once the writer is done, the same call goes through.
    ok(await t.gql(UpdateAccountSettingsDocument, { input: { accountName: 'Starved' } }, owner.token));
  });
});
