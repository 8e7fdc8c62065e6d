import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { eventCode } from '../events/event.entity.js';
import { signTrackingToken, trackingKey } from '../events/tracking.token.js';
import { emailing, ops, verifiedSender } from '../operations/testing/helpers.js';
import { MAX_BODY_BYTES, unsubscribeUrl } from './unsubscribe.js';

/** One-click unsubscribe over real HTTP against the test server, on real PostgreSQL. */
let t: TestApp;
let owner: Actor;
let other: Actor;
let key: Buffer;
let origin: string;
let operationId: string;
const UNSUBSCRIBE = eventCode('UNSUBSCRIBE');

beforeAll(async () => {
  t = await startTestApp({ TRACKING_SECRET: 'unsubscribe-test-secret-0123456789abcdef' });
  origin = new URL(t.url).origin;
  key = await trackingKey(t.app.services.config);
  owner = await signUpOwner(t, 'Acme <b>&</b> "Co"');
  other = await signUpOwner(t, 'Other');
  await verifiedSender(t, owner.accountId);
  operationId = ok(await ops(t).create(owner, emailing('Newsletter'))).createOperation.id;
});
afterAll(() => t.close());

let n = 0;
async function contact(accountId: string, status = 'VALID'): Promise<string> {
  const { rows } = await t.sql.query<{ id: string }>(
    `insert into contact (account_id, email, email_status) values ($1, $2, $3) returning id::text`,
    [accountId, `reader${++n}@unsub.test`, status],
  );
  return rows[0].id;
}
const statusOf = async (id: string) =>
  (await t.sql.query('select email_status from contact where id = $1', [id])).rows[0]?.email_status;
const eventsOf = async (id: string) =>
  (
    await t.sql.query(
      'select account_id, type, operation_id from contact_event where contact_id = $1 order by id',
      [id],
    )
  ).rows;
const auditOf = async (id: string) =>
  (
    await t.sql.query(
      `select account_id, user_id, action, diff from audit_entry where object_type = 'Contact' and object_id = $1`,
      [id],
    )
  ).rows;
/** The link as mailed, sent to this test server (PUBLIC_URL is not the server's port here). */
const pathOf = (accountId: string, contactId: string, op: string | null = operationId) =>
  new URL(unsubscribeUrl(t.app.services.config, key, { accountId, contactId, operationId: op })).pathname;
const hit = (path: string, init: RequestInit = {}) =>
  fetch(`${origin}${path}`, { redirect: 'manual', ...init });
const oneClick = (path: string) =>
  hit(path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'List-Unsubscribe=One-Click',
  });

describe('unsubscribeUrl', () => {
  it('is PUBLIC_URL/u/<token>, a token of kind u', () => {
    const url = unsubscribeUrl(t.app.services.config, key, {
      accountId: owner.accountId,
      contactId: '1',
      operationId,
    });
    expect(url.startsWith(`${t.app.services.config.publicUrl}/u/`)).toBe(true);
    const body = url.split('/u/')[1].split('.')[0];
    expect(JSON.parse(Buffer.from(body, 'base64url').toString())).toEqual({
      a: owner.accountId,
      c: '1',
      o: operationId,
      k: 'u',
    });
  });
});

describe('POST /u/<token> (RFC 8058 one-click)', () => {
  it('unsubscribes at once: status, one UNSUBSCRIBE event with the operation, one history entry, however often it is sent', async () => {
    const id = await contact(owner.accountId);
    const path = pathOf(owner.accountId, id);
    const res = await oneClick(path);
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await res.text();
    expect(html).toContain('<h1>You are unsubscribed</h1>');
    // The account's name is escaped, and the address masked.
    expect(html).toContain('Acme &lt;b&gt;&amp;&lt;/b&gt; &quot;Co&quot;');
    expect(html).toContain(`r***@unsub.test`);
    expect(await statusOf(id)).toBe('UNSUBSCRIBED');
    const once = [{ account_id: owner.accountId, type: UNSUBSCRIBE, operation_id: operationId }];
    expect(await eventsOf(id)).toEqual(once);
    expect((await oneClick(path)).status).toBe(200);
    // Concurrent repeats too: the contact's row lock serialises them.
    const again = await Promise.all(Array.from({ length: 8 }, () => oneClick(path)));
    expect(again.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(await eventsOf(id)).toEqual(once);
    const audit = await auditOf(id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ account_id: owner.accountId, user_id: null, action: 'unsubscribe' });
    expect(audit[0].diff.emailStatus).toEqual({ from: 'VALID', to: 'UNSUBSCRIBED' });
  });

  it("counts in the operation's statistics", async () => {
    const before = await stats();
    await oneClick(pathOf(owner.accountId, await contact(owner.accountId)));
    expect(await stats()).toBe(before + 1);
  });

  it('accepts any body or none, and the form post of the GET page', async () => {
    for (const init of [
      { method: 'POST' },
      { method: 'POST', body: 'whatever=1', headers: { 'content-type': 'text/plain' } },
      { method: 'POST', body: '', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
    ]) {
      const id = await contact(owner.accountId);
      expect((await hit(pathOf(owner.accountId, id), init)).status).toBe(200);
      expect(await statusOf(id)).toBe('UNSUBSCRIBED');
      expect(await eventsOf(id)).toHaveLength(1);
    }
  });

  it('refuses a body past the limit and writes nothing', async () => {
    const id = await contact(owner.accountId);
    const res = await hit(pathOf(owner.accountId, id), {
      method: 'POST',
      body: 'x'.repeat(MAX_BODY_BYTES + 1),
    });
    expect(res.status).toBe(413);
    expect(await statusOf(id)).toBe('VALID');
    expect(await eventsOf(id)).toEqual([]);
  });

  it('refuses a chunked body once it passes the limit, without waiting for its end', async () => {
    const id = await contact(owner.accountId);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${origin}${pathOf(owner.accountId, id)}`, { method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      // Chunked (no Content-Length), and never ended: only the count can stop it.
      req.write('x'.repeat(MAX_BODY_BYTES));
      req.write('x'.repeat(1024));
    });
    expect(status).toBe(413);
    expect(await statusOf(id)).toBe('VALID');
    expect(await eventsOf(id)).toEqual([]);
  });

  it('keeps a complaint as it is (nothing recorded); replaces a hard bounce', async () => {
    const complained = await contact(owner.accountId, 'COMPLAINED');
    expect((await oneClick(pathOf(owner.accountId, complained))).status).toBe(200);
    expect(await statusOf(complained)).toBe('COMPLAINED');
    expect(await eventsOf(complained)).toEqual([]);
    const bounced = await contact(owner.accountId, 'HARD_BOUNCED');
    expect((await oneClick(pathOf(owner.accountId, bounced))).status).toBe(200);
    expect(await statusOf(bounced)).toBe('UNSUBSCRIBED');
    expect(await eventsOf(bounced)).toHaveLength(1);
  });

  it('a link without an operation records the event without one', async () => {
    const id = await contact(owner.accountId);
    expect((await oneClick(pathOf(owner.accountId, id, null))).status).toBe(200);
    expect(await eventsOf(id)).toEqual([
      { account_id: owner.accountId, type: UNSUBSCRIBE, operation_id: null },
    ]);
  });
});

describe('GET and HEAD /u/<token>', () => {
  it('GET shows a page whose button POSTs to the same URL, and changes nothing', async () => {
    const id = await contact(owner.accountId);
    const res = await hit(pathOf(owner.accountId, id));
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await res.text();
    expect(html).toMatch(/<form method="post"><button type="submit">Unsubscribe<\/button><\/form>/);
    expect(html).not.toMatch(/<script|\bsrc=|\bhref=/i);
    expect(html).toContain('Acme &lt;b&gt;');
    expect(await statusOf(id)).toBe('VALID');
    expect(await eventsOf(id)).toEqual([]);
    expect(await auditOf(id)).toEqual([]);
  });

  it('HEAD answers as GET without a body, and changes nothing', async () => {
    const id = await contact(owner.accountId);
    const get = await hit(pathOf(owner.accountId, id));
    const head = await hit(pathOf(owner.accountId, id), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(get.headers.get('content-length'));
    expect(await head.text()).toBe('');
    expect(await statusOf(id)).toBe('VALID');
    expect(await eventsOf(id)).toEqual([]);
  });

  it('an unsubscribed contact gets no button', async () => {
    const id = await contact(owner.accountId, 'UNSUBSCRIBED');
    const html = await (await hit(pathOf(owner.accountId, id))).text();
    expect(html).toContain('You are unsubscribed');
    expect(html).not.toContain('<form');
  });
});

describe('links that name nobody we know', () => {
  it('forged, altered or other kinds of tokens answer 404 and write nothing', async () => {
    const id = await contact(owner.accountId);
    const good = pathOf(owner.accountId, id).slice('/u/'.length);
    const [body, sig] = good.split('.');
    const flip = (s: string) => {
      const i = Math.floor(s.length / 2);
      return s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    };
    const forged = Buffer.from(JSON.stringify({ a: owner.accountId, c: id, k: 'u' })).toString('base64url');
    const bad = [
      `${flip(body)}.${sig}`,
      `${body}.${flip(sig)}`,
      `${forged}.${sig}`,
      signTrackingToken(Buffer.alloc(32, 7), { a: owner.accountId, c: id, k: 'u' }), // another key
      signTrackingToken(key, { a: owner.accountId, c: id, k: 'o' }), // an open pixel's token
      signTrackingToken(key, { a: owner.accountId, c: id, u: 'https://a.example/', k: 'c' }), // a click's
      'not-a-token',
      '',
    ];
    for (const token of bad) {
      for (const method of ['GET', 'HEAD', 'POST']) {
        const res = await hit(`/u/${token}`, { method });
        expect([token, method, res.status]).toEqual([token, method, 404]);
        await res.text();
      }
    }
    expect(await statusOf(id)).toBe('VALID');
    expect(await eventsOf(id)).toEqual([]);
  });

  it("a token signed for account A naming a contact of B never touches B's contact", async () => {
    const theirs = await contact(other.accountId);
    for (const path of [
      pathOf(owner.accountId, theirs),
      pathOf(other.accountId, await contact(owner.accountId)),
    ]) {
      expect((await hit(path)).status).toBe(404);
      expect((await oneClick(path)).status).toBe(404);
    }
    expect(await statusOf(theirs)).toBe('VALID');
    expect(await eventsOf(theirs)).toEqual([]);
    const { rows } = await t.sql.query(
      `select count(*)::int as n from audit_entry where action = 'unsubscribe' and account_id = $1`,
      [other.accountId],
    );
    expect(rows[0].n).toBe(0);
  });

  it('a contact deleted since the mail went out: 404, nothing written', async () => {
    const id = await contact(owner.accountId);
    await t.sql.query('delete from contact where id = $1', [id]);
    expect((await hit(pathOf(owner.accountId, id))).status).toBe(404);
    expect((await oneClick(pathOf(owner.accountId, id))).status).toBe(404);
    expect(await eventsOf(id)).toEqual([]);
  });

  it('other methods answer 405', async () => {
    const path = pathOf(owner.accountId, await contact(owner.accountId));
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const res = await hit(path, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD, POST');
    }
  });
});

describe('audiences', () => {
  it("an unsubscribed contact leaves the operation's audienceCount", async () => {
    const count = async () =>
      ok(
        await t.gql<{ operation: { audienceCount: number } }, { id: string }>(
          'query($id: ID!) { operation(id: $id) { audienceCount } }',
          { id: operationId },
          owner.token,
        ),
      ).operation.audienceCount;
    const id = await contact(owner.accountId);
    const before = await count();
    await hit(pathOf(owner.accountId, id)); // a GET (a link scanner) changes nothing
    expect(await count()).toBe(before);
    await oneClick(pathOf(owner.accountId, id));
    expect(await count()).toBe(before - 1);
  });
});

async function stats(): Promise<number> {
  return ok(
    await t.gql<{ operation: { stats: { unsubscribes: number } } }, { id: string }>(
      'query($id: ID!) { operation(id: $id) { stats { unsubscribes } } }',
      { id: operationId },
      owner.token,
    ),
  ).operation.stats.unsubscribes;
}
