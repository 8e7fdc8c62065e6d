/**
 * The low-balance mail through real sends: a send taking the EMAIL balance below
 * LOW_BALANCE_THRESHOLD mails the INVOICES approvers and the owner (not an editor) once; a
 * further send below it mails nobody; credits lifting it back above arm the next crossing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Actor,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
  viewerWith,
} from '../../../test/harness.js';
import { waitUntil } from '../../../test/wait.js';
import { addCredits, pgExec } from '../credits/credit.service.js';
import { emailing, ops, verifiedSender } from '../operations/testing/helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    FREE_EMAIL_CREDITS: '150',
    LOW_BALANCE_THRESHOLD: '100',
    SEND_DISPATCH_SECONDS: '1',
  });
}, 120_000);
afterAll(async () => {
  await t?.close();
});

async function contacts(who: Actor, tag: string, n: number): Promise<void> {
  await t.sql.query(
    `insert into contact (account_id, email, unique_value)
     select $1, 'c' || g || '@${tag}.test', 'c' || g || '@${tag}.test' from generate_series(1, $2::int) g`,
    [who.accountId, n],
  );
}

/** Sends an Emailing to the contacts of `tag` only, to its end. */
async function send(who: Actor, tag: string): Promise<void> {
  const o = ops(t);
  const segment = ok(
    await t.gql<{ createSegment: { id: string } }, Record<string, unknown>>(
      'mutation($input: CreateSegmentInput!) { createSegment(input: $input) { id } }',
      {
        input: { name: tag, criterion: { field: { name: 'email', op: 'CONTAINS', value: `@${tag}.test` } } },
      },
      who.token,
    ),
  ).createSegment.id;
  const id = ok(await o.create(who, { ...emailing(tag), audience: { segmentIds: [segment] } }))
    .createOperation.id;
  ok(await o.step(who, 'submitOperation', id));
  ok(await o.step(who, 'validateOperation', id));
  ok(await o.step(who, 'scheduleOperation', id, ', now: true'));
  await waitUntil(async () => {
    const { rows } = await t.sql.query('select status from operation where id = $1', [id]);
    return rows[0].status === 'SENT';
  }, `the send to ${tag} to end`);
}

const lowMails = async (accountId: string) =>
  (
    await t.sql.query<{ to: string; subject: string; text: string }>(
      `select "to", subject, text from outbox_message where account_id = $1 and subject like 'Low %' order by id`,
      [accountId],
    )
  ).rows;

describe('low-balance mail', () => {
  it('mails the INVOICES approvers once per crossing of LOW_BALANCE_THRESHOLD', async () => {
    const owner = await signUpOwner(t, 'Low');
    await verifiedSender(t, owner.accountId);
    const approver = await viewerWith(t, owner, { INVOICES: 'APPROVER' });
    await viewerWith(t, owner, { INVOICES: 'EDITOR', EMAILINGS: 'APPROVER' });

    await contacts(owner, 'first', 40); // 150 -> 110: still above
    await send(owner, 'first');
    expect(await lowMails(owner.accountId)).toEqual([]);

    await contacts(owner, 'second', 20); // 110 -> 90: crosses
    await send(owner, 'second');
    const mails = await lowMails(owner.accountId);
    expect(mails.map((m) => m.to).sort()).toEqual([approver.email, owner.email].sort());
    expect(mails[0].subject).toBe('Low email credit balance: 90 left');
    expect(mails[0].text).toContain('fell below 100');

    await contacts(owner, 'third', 10); // 90 -> 80: below already, no new mail
    await send(owner, 'third');
    expect(await lowMails(owner.accountId)).toHaveLength(2);

    // A purchase (here an adjustment) lifts it back above: the next crossing mails again.
    const client = await t.sql.connect();
    try {
      await addCredits(pgExec(client), owner.accountId, 'EMAIL', 50, 'ADJUSTMENT', 'test');
    } finally {
      client.release();
    }
    await contacts(owner, 'fourth', 35); // 130 -> 95: crosses again
    await send(owner, 'fourth');
    const again = await lowMails(owner.accountId);
    expect(again).toHaveLength(4);
    expect(again[3].subject).toBe('Low email credit balance: 95 left');
  }, 120_000);
});
