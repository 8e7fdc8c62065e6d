import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateContactDocument, RecordEventsDocument } from '../../../test/generated/graphql.js';
import {
  type Actor,
  code,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
  viewerWith,
} from '../../../test/harness.js';

let t: TestApp;
let owner: Actor;
let contactId: string;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
  contactId = ok(await t.gql(CreateContactDocument, { input: { email: 'ev@example.com' } }, owner.token))
    .createContact.id;
});
afterAll(() => t.close());

const count = async (t: TestApp) =>
  (await t.sql.query('select count(*)::int as n from contact_event')).rows[0].n as number;

describe('recordEvents', () => {
  it('appends events with their time, operation, form and URL', async () => {
    const op = '11111111-1111-4111-8111-111111111111';
    const n = ok(
      await t.gql(
        RecordEventsDocument,
        {
          events: [
            { contactId, type: 'EMAIL_OPEN', occurredAt: '2026-01-02T03:04:05.000Z', operationId: op },
            { contactId, type: 'EMAIL_CLICK', url: 'https://shop.example.com/a' },
            { contactId, type: 'UNSUBSCRIBE' },
          ],
        },
        owner.token,
      ),
    ).recordEvents;
    expect(n).toBe(3);
    const { rows } = await t.sql.query(
      'select type, occurred_at, operation_id, url from contact_event where contact_id = $1 order by id',
      [contactId],
    );
    expect(rows.map((r) => r.type)).toEqual([0, 1, 6]);
    expect(rows[0].occurred_at.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(rows[0].operation_id).toBe(op);
    expect(rows[1].url).toBe('https://shop.example.com/a');
    const status = await t.sql.query('select email_status from contact where id = $1', [contactId]);
    expect(status.rows[0].email_status).toBe('UNSUBSCRIBED');
  });

  it('is all or nothing, listing every bad item', async () => {
    const before = await count(t);
    const stranger = await signUpOwner(t, 'Stranger');
    const theirs = ok(await t.gql(CreateContactDocument, { input: { email: 'x@y.com' } }, stranger.token))
      .createContact.id;
    const r = await t.gql(
      RecordEventsDocument,
      {
        events: [
          { contactId, type: 'EMAIL_OPEN' },
          { contactId: '987654321', type: 'EMAIL_OPEN' },
          { contactId: theirs, type: 'EMAIL_OPEN' },
          { contactId, type: 'EMAIL_OPEN', occurredAt: '2999-01-01T00:00:00.000Z' },
          { contactId: 'abc', type: 'SITE_VISIT' },
        ],
      },
      owner.token,
    );
    expect(code(r)).toBe('BAD_USER_INPUT');
    const items = r.errors?.[0]?.extensions?.items as { index: number; message: string }[];
    expect(items.map((i) => i.index)).toEqual([1, 2, 3, 4]);
    expect(items[1].message).toMatch(/not found/); // another account's contact is simply not found
    expect(await count(t)).toBe(before);
  });

  it('takes at most 10,000 events per call, and 10,000 in one go', async () => {
    const tooMany = Array.from({ length: 10_001 }, () => ({ contactId, type: 'SITE_VISIT' as const }));
    expect(code(await t.gql(RecordEventsDocument, { events: tooMany }, owner.token))).toBe('BAD_USER_INPUT');
    const before = await count(t);
    const max = tooMany.slice(0, 10_000);
    expect(ok(await t.gql(RecordEventsDocument, { events: max }, owner.token)).recordEvents).toBe(10_000);
    expect(await count(t)).toBe(before + 10_000);
  });

  it('needs CONTACTS >= EDITOR', async () => {
    const guest = await viewerWith(t, owner, { CONTACTS: 'GUEST' });
    const before = await count(t);
    expect(
      code(await t.gql(RecordEventsDocument, { events: [{ contactId, type: 'EMAIL_OPEN' }] }, guest.token)),
    ).toBe('FORBIDDEN');
    expect(await count(t)).toBe(before);
  });
});
