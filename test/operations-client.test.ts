/**
 * The client documents of test/operations/operations.graphql, typed by codegen, driving a send on
 * a fresh install's defaults: no SMTP_URL, so messages go to the local outbox, which is where a
 * user of `npm start` reads them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifiedSender } from '../src/modules/operations/testing/helpers.js';
import {
  CreateOperationDocument,
  OperationStatsDocument,
  OperationsDocument,
  SendTestOperationDocument,
  SubmitOperationDocument,
  ValidateOperationDocument,
} from './generated/graphql.js';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from './harness.js';

let t: TestApp;
let owner: Actor;

beforeAll(async () => {
  t = await startTestApp({ SEND_DISPATCH_SECONDS: '1' });
  owner = await signUpOwner(t, 'Client');
  await verifiedSender(t, owner.accountId);
  await t.sql.query(
    `insert into contact (account_id, email, first_name, unique_value)
     select $1, 'r' || g || '@client.test', 'R' || g, 'r' || g || '@client.test' from generate_series(1, 12) g`,
    [owner.accountId],
  );
});
afterAll(() => t?.close());

describe('the client documents, on the outbox transport', () => {
  it('draft, test send, submit, validate and schedule now, then the send figures', async () => {
    const created = ok(
      await t.gql(
        CreateOperationDocument,
        {
          input: {
            kind: 'EMAILING',
            name: 'Client flow',
            audience: { allContacts: true },
            email: {
              subject: 'Hello {{ contact.firstName }}',
              fromEmail: 'news@acme.example',
              html: '<p>Hi</p>',
            },
          },
        },
        owner.token,
      ),
    ).createOperation;
    expect(created).toMatchObject({ status: 'DRAFT', audienceCount: 12, email: { textPart: 'Hi' } });
    const test = ok(
      await t.gql(SendTestOperationDocument, { id: created.id, to: [owner.email] }, owner.token),
    );
    expect(test.sendTestOperation.recipients).toEqual([
      { to: owner.email, status: 'SENT', response: 'outbox' },
    ]);
    ok(await t.gql(SubmitOperationDocument, { id: created.id }, owner.token));
    const validated = ok(
      await t.gql(ValidateOperationDocument, { id: created.id, scheduleNow: true }, owner.token),
    );
    expect(validated.validateOperation.status).toBe('SCHEDULED');
    let stats = null as null | Awaited<ReturnType<typeof read>>;
    const read = async () =>
      ok(await t.gql(OperationStatsDocument, { id: created.id }, owner.token)).operation;
    for (let i = 0; i < 200; i++) {
      stats = await read();
      if (stats?.stats.send?.remaining === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(stats?.stats.sent).toBe(12);
    expect(stats?.stats.send).toMatchObject({
      recipients: 12,
      delivered: 12,
      failed: 0,
      remaining: 0,
      excluded: [],
    });
    const { rows } = await t.sql.query(
      `select kind, count(*)::int as n from outbox_message where account_id = $1 and kind is not null group by kind order by kind`,
      [owner.accountId],
    );
    expect(rows).toEqual([
      { kind: 'OPERATION', n: 12 },
      { kind: 'TEST', n: 1 },
    ]);
    const list = ok(await t.gql(OperationsDocument, { first: 10 }, owner.token)).operations.nodes;
    expect(list.map((o) => o.id)).toContain(created.id);
  });
});
