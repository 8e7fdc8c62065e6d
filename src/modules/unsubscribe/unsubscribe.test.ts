import { describe, expect, it } from 'vitest';
import { ok } from '../../../test/harness.js';
import { eventCode } from '../events/event.entity.js';
import { unsubscribeFixture } from './testing/fixture.js';
import { unsubscribeUrl } from './unsubscribe.js';

/** One-click unsubscribe over real HTTP against the test server, on real PostgreSQL. */
const f = unsubscribeFixture();
const { contact, statusOf, eventsOf, auditOf, pathOf, hit, oneClick } = f;
const UNSUBSCRIBE = eventCode('UNSUBSCRIBE');

describe('unsubscribeUrl', () => {
  it('is PUBLIC_URL/u/<token>, a token of kind u', () => {
    const url = unsubscribeUrl(f.t.app.services.config, f.key, {
      accountId: f.owner.accountId,
      contactId: '1',
      operationId: f.operationId,
    });
    expect(url.startsWith(`${f.t.app.services.config.publicUrl}/u/`)).toBe(true);
    const body = url.split('/u/')[1].split('.')[0];
    expect(JSON.parse(Buffer.from(body, 'base64url').toString())).toEqual({
      a: f.owner.accountId,
      c: '1',
      o: f.operationId,
      k: 'u',
    });
  });
});

describe('POST /u/<token> (RFC 8058 one-click)', () => {
  it('unsubscribes at once: status, one UNSUBSCRIBE event with the operation, one history entry, however often it is sent', async () => {
    const id = await contact(f.owner.accountId);
    const path = pathOf(f.owner.accountId, id);
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
    const once = [{ account_id: f.owner.accountId, type: UNSUBSCRIBE, operation_id: f.operationId }];
    expect(await eventsOf(id)).toEqual(once);
    expect((await oneClick(path)).status).toBe(200);
    // Concurrent repeats too: the contact's row lock serialises them.
    const again = await Promise.all(Array.from({ length: 8 }, () => oneClick(path)));
    expect(again.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(await eventsOf(id)).toEqual(once);
    const audit = await auditOf(id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ account_id: f.owner.accountId, user_id: null, action: 'unsubscribe' });
    expect(audit[0].diff.emailStatus).toEqual({ from: 'VALID', to: 'UNSUBSCRIBED' });
  });

  it("counts in the operation's statistics", async () => {
    const before = await stats();
    await oneClick(pathOf(f.owner.accountId, await contact(f.owner.accountId)));
    expect(await stats()).toBe(before + 1);
  });

  it('accepts any body or none, and the form post of the GET page', async () => {
    for (const init of [
      { method: 'POST' },
      { method: 'POST', body: 'whatever=1', headers: { 'content-type': 'text/plain' } },
      { method: 'POST', body: '', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
    ]) {
      const id = await contact(f.owner.accountId);
      expect((await hit(pathOf(f.owner.accountId, id), init)).status).toBe(200);
      expect(await statusOf(id)).toBe('UNSUBSCRIBED');
      expect(await eventsOf(id)).toHaveLength(1);
    }
  });

  it('keeps a complaint as it is (nothing recorded); replaces a hard bounce', async () => {
    const complained = await contact(f.owner.accountId, 'COMPLAINED');
    expect((await oneClick(pathOf(f.owner.accountId, complained))).status).toBe(200);
    expect(await statusOf(complained)).toBe('COMPLAINED');
    expect(await eventsOf(complained)).toEqual([]);
    const bounced = await contact(f.owner.accountId, 'HARD_BOUNCED');
    expect((await oneClick(pathOf(f.owner.accountId, bounced))).status).toBe(200);
    expect(await statusOf(bounced)).toBe('UNSUBSCRIBED');
    expect(await eventsOf(bounced)).toHaveLength(1);
  });

  it('a link without an operation records the event without one', async () => {
    const id = await contact(f.owner.accountId);
    expect((await oneClick(pathOf(f.owner.accountId, id, null))).status).toBe(200);
    expect(await eventsOf(id)).toEqual([
      { account_id: f.owner.accountId, type: UNSUBSCRIBE, operation_id: null },
    ]);
  });
});

describe('GET and HEAD /u/<token>', () => {
  it('GET shows a page whose button POSTs to the same URL, and changes nothing', async () => {
    const id = await contact(f.owner.accountId);
    const res = await hit(pathOf(f.owner.accountId, id));
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
    const id = await contact(f.owner.accountId);
    const get = await hit(pathOf(f.owner.accountId, id));
    const head = await hit(pathOf(f.owner.accountId, id), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(get.headers.get('content-length'));
    expect(await head.text()).toBe('');
    expect(await statusOf(id)).toBe('VALID');
    expect(await eventsOf(id)).toEqual([]);
  });

  it('an unsubscribed contact gets no button', async () => {
    const id = await contact(f.owner.accountId, 'UNSUBSCRIBED');
    const html = await (await hit(pathOf(f.owner.accountId, id))).text();
    expect(html).toContain('You are unsubscribed');
    expect(html).not.toContain('<form');
  });
});

describe('audiences', () => {
  it("an unsubscribed contact leaves the operation's audienceCount", async () => {
    const count = async () =>
      ok(
        await f.t.gql<{ operation: { audienceCount: number } }, { id: string }>(
          'query($id: ID!) { operation(id: $id) { audienceCount } }',
          { id: f.operationId },
          f.owner.token,
        ),
      ).operation.audienceCount;
    const id = await contact(f.owner.accountId);
    const before = await count();
    await hit(pathOf(f.owner.accountId, id)); // a GET (a link scanner) changes nothing
    expect(await count()).toBe(before);
    await oneClick(pathOf(f.owner.accountId, id));
    expect(await count()).toBe(before - 1);
  });
});

async function stats(): Promise<number> {
  return ok(
    await f.t.gql<{ operation: { stats: { unsubscribes: number } } }, { id: string }>(
      'query($id: ID!) { operation(id: $id) { stats { unsubscribes } } }',
      { id: f.operationId },
      f.owner.token,
    ),
  ).operation.stats.unsubscribes;
}
