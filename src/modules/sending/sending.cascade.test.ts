/**
 * operation_recipient has no foreign key to operation (a freeze checked it per row): the statement
 * trigger on operation must still take an operation's recipients with it, and only its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { emailing, ops, verifiedSender } from '../operations/testing/helpers.js';

let t: TestApp;
let owner: Actor;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t, 'Cascade');
  await verifiedSender(t, owner.accountId);
}, 120_000);
afterAll(() => t?.close());

describe('recipients follow their operation', () => {
  it('deleting operations deletes their recipients, and nobody else’s', async () => {
    await t.sql.query(
      `insert into contact (account_id, email, unique_value)
       select $1, 'c' || g || '@cascade.test', 'c' || g || '@cascade.test' from generate_series(1, 5) g`,
      [owner.accountId],
    );
    const ids: string[] = [];
    for (const name of ['gone', 'also gone', 'kept'])
      ids.push(ok(await ops(t).create(owner, emailing(name))).createOperation.id);
    // Rows as a freeze writes them (an operation in DRAFT never has any: this is the table's rule).
    await t.sql.query(
      `insert into operation_recipient (operation_id, contact_id, account_id, address, status, attempts, due_at)
       select o, c.id, $1, c.email, 'PENDING', 0, now() from contact c cross join unnest($2::uuid[]) o
        where c.account_id = $1`,
      [owner.accountId, ids],
    );
    const count = async (id: string) =>
      (await t.sql.query('select count(*)::int as n from operation_recipient where operation_id = $1', [id]))
        .rows[0].n;
    expect(await count(ids[0])).toBe(5);
    ok(await ops(t).remove(owner, [ids[0], ids[1]]));
    expect([await count(ids[0]), await count(ids[1]), await count(ids[2])]).toEqual([0, 0, 5]);
    // The cascade from a deleted account goes through operation, and so through the trigger.
    await t.sql.query('delete from account where id = $1', [owner.accountId]);
    expect(await count(ids[2])).toBe(0);
  });
});
