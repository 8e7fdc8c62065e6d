import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { signTrackingToken } from '../events/tracking.token.js';
import { unsubscribeFixture } from './testing/fixture.js';
import { MAX_BODY_BYTES } from './unsubscribe.js';

/** What the unsubscribe endpoint refuses, over real HTTP: each refusal writes nothing. */
const f = unsubscribeFixture();
const { contact, statusOf, eventsOf, pathOf, hit, oneClick } = f;

describe('bodies', () => {
  it('refuses a body past the limit and writes nothing', async () => {
    const id = await contact(f.owner.accountId);
    const res = await hit(pathOf(f.owner.accountId, id), {
      method: 'POST',
      body: 'x'.repeat(MAX_BODY_BYTES + 1),
    });
    expect(res.status).toBe(413);
    expect(await statusOf(id)).toBe('VALID');
    expect(await eventsOf(id)).toEqual([]);
  });

  it('refuses a chunked body once it passes the limit, without waiting for its end', async () => {
    const id = await contact(f.owner.accountId);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${f.origin}${pathOf(f.owner.accountId, id)}`, { method: 'POST' }, (res) => {
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
});

describe('links that name nobody we know', () => {
  it('forged, altered or other kinds of tokens answer 404 and write nothing', async () => {
    const id = await contact(f.owner.accountId);
    const good = pathOf(f.owner.accountId, id).slice('/u/'.length);
    const [body, sig] = good.split('.');
    const flip = (s: string) => {
      const i = Math.floor(s.length / 2);
      return s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    };
    const forged = Buffer.from(JSON.stringify({ a: f.owner.accountId, c: id, k: 'u' })).toString('base64url');
    const bad = [
      `${flip(body)}.${sig}`,
      `${body}.${flip(sig)}`,
      `${forged}.${sig}`,
      signTrackingToken(Buffer.alloc(32, 7), { a: f.owner.accountId, c: id, k: 'u' }), // another key
      signTrackingToken(f.key, { a: f.owner.accountId, c: id, k: 'o' }), // an open pixel's token
      signTrackingToken(f.key, { a: f.owner.accountId, c: id, u: 'https://a.example/', k: 'c' }), // a click's
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
    const theirs = await contact(f.other.accountId);
    for (const path of [
      pathOf(f.owner.accountId, theirs),
      pathOf(f.other.accountId, await contact(f.owner.accountId)),
    ]) {
      expect((await hit(path)).status).toBe(404);
      expect((await oneClick(path)).status).toBe(404);
    }
    expect(await statusOf(theirs)).toBe('VALID');
    expect(await eventsOf(theirs)).toEqual([]);
    const { rows } = await f.t.sql.query(
      `select count(*)::int as n from audit_entry where action = 'unsubscribe' and account_id = $1`,
      [f.other.accountId],
    );
    expect(rows[0].n).toBe(0);
  });

  it('a contact deleted since the mail went out: 404, nothing written', async () => {
    const id = await contact(f.owner.accountId);
    await f.t.sql.query('delete from contact where id = $1', [id]);
    expect((await hit(pathOf(f.owner.accountId, id))).status).toBe(404);
    expect((await oneClick(pathOf(f.owner.accountId, id))).status).toBe(404);
    expect(await eventsOf(id)).toEqual([]);
  });

  it('other methods answer 405', async () => {
    const path = pathOf(f.owner.accountId, await contact(f.owner.accountId));
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const res = await hit(path, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD, POST');
    }
  });
});
