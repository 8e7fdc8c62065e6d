import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moveHits } from '../src/modules/events/tracking.repository.js';
import { signTrackingToken, trackingKey } from '../src/modules/events/tracking.token.js';
import { type Actor, code, type GqlResult, ok, signUpOwner, startTestApp, type TestApp } from './harness.js';

/**
 * Cursors and tracking links a client did not get from us, or got in another context, are
 * refused with a typed answer (issue 10, 7); before, each reached PostgreSQL or Node's header
 * check and answered a masked error or an empty 500.
 */
let t: TestApp;
let owner: Actor;
const ids: string[] = [];
beforeAll(async () => {
  t = await startTestApp({ TRACKING_SECRET: 'test-tracking-secret-0123456789abcdef' });
  owner = await signUpOwner(t);
  for (const email of ['c@cur.test', 'a@cur.test', 'b@cur.test'])
    ids.push(
      ok(
        await t.gql<{ createContact: { id: string } }, Record<string, unknown>>(
          'mutation($i: CreateContactInput!) { createContact(input: $i) { id } }',
          { i: { email } },
          owner.token,
        ),
      ).createContact.id,
    );
});
afterAll(() => t.close());

interface Page {
  contacts: { nodes: { id: string }[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } };
}
const PAGE = `query($o: ContactOrder, $a: String, $n: Int) {
  contacts(orderBy: $o, after: $a, first: $n) { nodes { id } pageInfo { endCursor hasNextPage } }
}`;
const page = (o: Record<string, unknown> | null, a: string | null, n = 1) =>
  t.gql<Page, Record<string, unknown>>(PAGE, { o, a, n }, owner.token);
const cursorOf = (raw: string) => Buffer.from(raw, 'utf8').toString('base64url');
function refused(r: GqlResult<unknown>, pattern?: RegExp): void {
  expect(r.status).toBeLessThan(500);
  expect(code(r)).toBe('BAD_USER_INPUT');
  if (pattern) expect(r.errors?.[0].message).toMatch(pattern);
}

describe('contacts cursors', () => {
  it('refuses a cursor from a page in another order, saying so', async () => {
    const byId = ok(await page(null, null)).contacts.pageInfo.endCursor;
    refused(await page({ field: 'CREATED_AT' }, byId), /another order/);
    refused(await page({ field: 'EMAIL' }, byId), /another order/);
    // The same field in the other direction is another order too.
    const byEmail = ok(await page({ field: 'EMAIL' }, null)).contacts.pageInfo.endCursor;
    refused(await page({ field: 'EMAIL', desc: true }, byEmail), /another order/);
  });

  it('still pages every order to the end, each cursor in its own order', async () => {
    for (const o of [null, { field: 'CREATED_AT', desc: true }, { field: 'EMAIL' }, { field: 'LAST_NAME' }]) {
      const seen: string[] = [];
      let after: string | null = null;
      for (;;) {
        const p: Page['contacts'] = ok(await page(o, after)).contacts;
        seen.push(...p.nodes.map((n) => n.id));
        if (!p.pageInfo.hasNextPage) break;
        after = p.pageInfo.endCursor;
      }
      expect([...seen].sort(), JSON.stringify(o)).toEqual([...ids].sort());
    }
  });

  it('refuses forged, over-long and out-of-range cursors', async () => {
    const created = { field: 'CREATED_AT' };
    const email = { field: 'EMAIL' };
    const forged: [Record<string, unknown> | null, string][] = [
      [created, cursorOf('o:CREATED_AT.asc:["not a time","1"]')],
      [null, cursorOf(`o:ID.asc:["1","${'9'.repeat(40)}"]`)],
      [email, cursorOf('o:EMAIL.asc:["a\u0000","1"]')],
      [email, cursorOf('o:EMAIL.asc:{"x":1}')],
      [null, 'A'.repeat(100_000)],
      // A cursor without an order (as written before orders were named in them).
      [created, cursorOf(`c:${JSON.stringify(['2026-01-01 00:00:00+00', '1'])}`)],
    ];
    for (const [o, a] of forged) refused(await page(o, a));
  });
});

describe('outbox cursors', () => {
  const OUTBOX = 'query($a: String) { outbox(after: $a) { nodes { id } } }';
  it('refuses an out-of-range id and an over-long cursor', async () => {
    refused(await t.gql(OUTBOX, { a: cursorOf(`c:${'9'.repeat(40)}`) }, owner.token));
    refused(await t.gql(OUTBOX, { a: cursorOf(`c:${'1'.repeat(19)}`) }, owner.token));
    refused(await t.gql(OUTBOX, { a: 'A'.repeat(100_000) }, owner.token));
    expect(code(await t.gql(OUTBOX, { a: cursorOf('c:999999999999999999') }, owner.token))).toBeNull();
  });
});

describe('click links', () => {
  const origin = () => new URL(t.url).origin;
  /** A token signed as the server signs, bypassing signTrackingToken's own checks (an old token). */
  async function signedRaw(payload: Record<string, unknown>): Promise<string> {
    const key = await trackingKey(t.app.services.config);
    const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
    const mac = createHmac('sha256', key).update('v1.').update(body).digest().toString('base64url');
    return `${body}.${mac}`;
  }
  const contact = () => ids[0];

  it('answers 400 with a body for a signed URL holding CR/LF, and records nothing', async () => {
    for (const u of ['https://x.test/a\r\nSet-Cookie: a=b', 'https://x.test/\nb', 'https://x.test/\u0000']) {
      const token = await signedRaw({ a: owner.accountId, c: contact(), u, k: 'c' });
      const res = await fetch(`${origin()}/t/c/${token}`, { redirect: 'manual' });
      expect(res.status, JSON.stringify(u)).toBe(400);
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(await res.text()).not.toBe('');
    }
    await moveHits(t.sql); // what was staged reaches contact_event (tracking.writer.ts)
    const n = await t.sql.query('select count(*) from contact_event where contact_id = $1', [contact()]);
    expect(Number(n.rows[0].count)).toBe(0);
  });

  it('never signs such a URL', async () => {
    const key = await trackingKey(t.app.services.config);
    expect(() =>
      signTrackingToken(key, { a: owner.accountId, c: contact(), u: 'https://x.test/\r\nA: b', k: 'c' }),
    ).toThrow(/control characters/);
  });

  it('redirects a URL with characters a header cannot carry to its ASCII form', async () => {
    const token = await signedRaw({
      a: owner.accountId,
      c: contact(),
      u: 'https://exemple.test/café?q=日本',
      k: 'c',
    });
    const res = await fetch(`${origin()}/t/c/${token}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://exemple.test/caf%C3%A9?q=%E6%97%A5%E6%9C%AC');
  });
});
