import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateContactDocument } from '../../../test/generated/graphql.js';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { loadConfig } from '../../config.js';
import { PIXEL } from './tracking.js';
import { moveHits } from './tracking.repository.js';
import {
  signTrackingToken,
  type TrackingPayload,
  trackingKey,
  verifyTrackingToken,
} from './tracking.token.js';

let t: TestApp;
let owner: Actor;
let other: Actor;
let key: Buffer;
let origin: string;
let accountId: string;
let otherAccountId: string;
let contactId: string;
let otherContactId: string;
const OPERATION = '6f1c9a52-0d7e-4b8e-9a43-2f5d7e8c1b00';

beforeAll(async () => {
  t = await startTestApp({ TRACKING_SECRET: 'test-tracking-secret-0123456789abcdef' });
  origin = new URL(t.url).origin;
  key = await trackingKey(t.app.services.config);
  owner = await signUpOwner(t);
  other = await signUpOwner(t, 'Other');
  accountId = owner.accountId;
  otherAccountId = other.accountId;
  contactId = ok(await t.gql(CreateContactDocument, { input: { email: 'reader@track.test' } }, owner.token))
    .createContact.id;
  otherContactId = ok(
    await t.gql(CreateContactDocument, { input: { email: 'someone@other.test' } }, other.token),
  ).createContact.id;
});
afterAll(() => t.close());

/** The events recorded so far, the hits still staged moved first (as the writer does within MOVE_EVERY_MS). */
const events = async () => {
  await moveHits(t.sql);
  return (
    await t.sql.query(
      'select account_id, contact_id::text, type, operation_id, url from contact_event order by id',
    )
  ).rows;
};
const get = (p: string) => fetch(`${origin}${p}`, { redirect: 'manual' });
const sign = (p: TrackingPayload) => signTrackingToken(key, p);

/** Changes one character of the signed payload or the signature, keeping it base64url. */
function alter(token: string, part: 0 | 1): string {
  const pieces = token.split('.');
  const s = pieces[part];
  const i = Math.floor(s.length / 2);
  pieces[part] = s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  return pieces.join('.');
}

describe('tracking endpoints', () => {
  it('the open pixel returns a GIF and records EMAIL_OPEN for a signed token', async () => {
    const before = (await events()).length;
    const res = await get(`/t/o/${sign({ a: accountId, c: contactId, o: OPERATION, k: 'o' })}.gif`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/gif');
    expect(res.headers.get('cache-control')).toMatch(/no-store/);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(PIXEL);
    const rows = (await events()).slice(before);
    expect(rows).toEqual([
      { account_id: accountId, contact_id: contactId, type: 0, operation_id: OPERATION, url: null },
    ]);
  });

  it('a click records EMAIL_CLICK and redirects to the signed URL only', async () => {
    const before = (await events()).length;
    const url = 'https://shop.example.com/sale?utm=mail&x=1';
    const res = await get(`/t/c/${sign({ a: accountId, c: contactId, o: OPERATION, u: url, k: 'c' })}`);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(url);
    // Query strings added to the link do not change where it goes.
    const again = await get(
      `/t/c/${sign({ a: accountId, c: contactId, u: url, k: 'c' })}?next=https://evil.test`,
    );
    expect(again.headers.get('location')).toBe(url);
    const rows = (await events()).slice(before);
    expect(rows.map((r) => [r.type, r.url])).toEqual([
      [1, url],
      [1, url],
    ]);
  });

  it('forged, altered or misused tokens record nothing and never redirect', async () => {
    const url = 'https://shop.example.com/';
    const click = sign({ a: accountId, c: contactId, u: url, k: 'c' });
    const forgedPayload = Buffer.from(
      JSON.stringify({ a: accountId, c: contactId, u: 'https://evil.test/', k: 'c' }),
    ).toString('base64url');
    const wrongKey = signTrackingToken(Buffer.alloc(32, 1), { a: accountId, c: contactId, u: url, k: 'c' });
    const before = await events();
    const bad = [
      alter(click, 0), // altered payload
      alter(click, 1), // altered signature
      `${forgedPayload}.${click.split('.')[1]}`, // another payload under a real signature
      wrongKey, // signed with another secret
      sign({ a: accountId, c: otherContactId, u: url, k: 'c' }), // a contact of another account
      sign({ a: otherAccountId, c: contactId, u: url, k: 'c' }), // the same, the other way round
      sign({ a: accountId, c: contactId, k: 'o' }), // an open token used as a click
      `${click}x`,
      'not-a-token',
    ];
    for (const token of bad) {
      const res = await get(`/t/c/${token}`);
      expect(res.status, token).toBe(404);
      expect(res.headers.get('location')).toBeNull();
    }
    for (const token of [alter(sign({ a: accountId, c: contactId, k: 'o' }), 0), click]) {
      const res = await get(`/t/o/${token}.gif`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/gif');
    }
    expect(
      await get(`/t/o/${sign({ a: otherAccountId, c: contactId, k: 'o' })}.gif`).then((r) => r.status),
    ).toBe(200);
    expect(await events()).toEqual(before);
  });

  it('HEAD answers without recording; other methods are refused', async () => {
    const before = (await events()).length;
    const token = sign({ a: accountId, c: contactId, u: 'https://a.example/', k: 'c' });
    const head = await fetch(`${origin}/t/c/${token}`, { method: 'HEAD', redirect: 'manual' });
    expect(head.status).toBe(302);
    expect((await fetch(`${origin}/t/c/${token}`, { method: 'POST' })).status).toBe(405);
    expect((await events()).length).toBe(before);
  });

  it('records concurrent hits in batches without losing any', async () => {
    const before = (await events()).length;
    const token = sign({ a: accountId, c: contactId, k: 'o' });
    const all = await Promise.all(Array.from({ length: 200 }, () => get(`/t/o/${token}.gif`)));
    expect(all.every((r) => r.status === 200)).toBe(true);
    expect((await events()).length - before).toBe(200);
  });

  it('a burst of concurrent opens and clicks of many contacts is committed whole, machine ones apart', async () => {
    const made = await t.sql.query<{ id: string }>(
      `insert into contact (account_id, email) select $1, 'burst' || i || '@track.test' from generate_series(1, 50) i returning id::text`,
      [accountId],
    );
    const ids = made.rows.map((r) => r.id);
    const op = '0b7e4c1a-9d2f-4e3b-8a6c-5f1e2d3c4b5a';
    const N = 600;
    // Contact i % 50; even hits open with a mail client, odd ones click one link; every fifth
    // is a scanner's (its user agent): the writer batches them all, and the flags survive it.
    const all = await Promise.all(
      Array.from({ length: N }, (_, i) => {
        const c = ids[i % ids.length];
        const headers = {
          'user-agent':
            i % 5 === 0 ? 'Mimecast URL Protect' : 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
        };
        return i % 2 === 0
          ? fetch(`${origin}/t/o/${sign({ a: accountId, c, o: op, k: 'o' })}.gif`, { headers })
          : fetch(
              `${origin}/t/c/${sign({ a: accountId, c, o: op, u: 'https://shop.example.com/x', k: 'c' })}`,
              {
                headers,
                redirect: 'manual',
              },
            );
      }),
    );
    expect(all.filter((r, i) => r.status === (i % 2 === 0 ? 200 : 302)).length).toBe(N);
    await moveHits(t.sql);
    const counts = await t.sql.query<{ type: number; machine: boolean; n: number; contacts: number }>(
      `select type, machine, count(*)::int as n, count(distinct contact_id)::int as contacts from contact_event
        where operation_id = $1 group by type, machine order by type, machine`,
      [op],
    );
    // i % 5 === 0 is a scanner: 60 of the 300 opens (even i), 60 of the 300 clicks (odd i).
    expect(counts.rows.map((r) => [r.type, r.machine, r.n])).toEqual([
      [0, false, 240],
      [0, true, 60],
      [1, false, 240],
      [1, true, 60],
    ]);
    const stats = await t.sql.query<{ type: number; total: string }>(
      `select type, sum(total)::text as total from operation_stat
        where operation_id = $1 and url_key = '00000000-0000-0000-0000-000000000000' group by type order by type`,
      [op],
    );
    expect(stats.rows).toEqual([
      { type: 0, total: '240' },
      { type: 1, total: '240' },
      { type: 100, total: '60' },
      { type: 101, total: '60' },
    ]);
  });

  it('an unsubscribe token (kind u) is never an open or a click, and an open or click token never unsubscribes', async () => {
    const unsub = sign({ a: accountId, c: contactId, o: OPERATION, k: 'u' });
    const open = sign({ a: accountId, c: contactId, o: OPERATION, k: 'o' });
    const click = sign({ a: accountId, c: contactId, u: 'https://a.example/', k: 'c' });
    expect(verifyTrackingToken(key, unsub, 'u')).toEqual({
      a: accountId,
      c: contactId,
      o: OPERATION,
      k: 'u',
    });
    expect(verifyTrackingToken(key, unsub, 'o')).toBeNull();
    expect(verifyTrackingToken(key, unsub, 'c')).toBeNull();
    expect(verifyTrackingToken(key, open, 'u')).toBeNull();
    expect(verifyTrackingToken(key, click, 'u')).toBeNull();
    expect(() => sign({ a: accountId, c: contactId, u: 'https://a.example/', k: 'u' })).toThrow(/no url/);
    const before = await events();
    expect((await get(`/t/o/${unsub}.gif`)).status).toBe(200); // the pixel answers, records nothing
    expect((await get(`/t/c/${unsub}`)).status).toBe(404);
    for (const token of [open, click]) {
      expect((await fetch(`${origin}/u/${token}`, { method: 'POST' })).status).toBe(404);
    }
    expect(await events()).toEqual(before);
  });

  it('signs only well-formed payloads and verifies with timing-safe comparison of the signature', () => {
    expect(() => sign({ a: accountId, c: contactId, u: 'javascript:alert(1)', k: 'c' })).toThrow(/http/);
    expect(() => sign({ a: 'x', c: contactId, k: 'o' })).toThrow(/account/);
    const token = sign({ a: accountId, c: contactId, k: 'o' });
    expect(verifyTrackingToken(key, token, 'o')).toEqual({ a: accountId, c: contactId, k: 'o' });
    expect(verifyTrackingToken(key, token, 'c')).toBeNull();
  });

  it('without TRACKING_SECRET the key is kept in DATA_DIR/tracking.key, so it survives restarts', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cible-tracking-'));
    try {
      const k1 = await trackingKey(loadConfig({ DATA_DIR: dir }));
      expect((await readFile(path.join(dir, 'tracking.key'), 'utf8')).trim()).toMatch(/^[0-9a-f]{64}$/);
      // A new configuration (as after a restart) reads the same file.
      const k2 = await trackingKey(loadConfig({ DATA_DIR: dir }));
      expect(k2.equals(k1)).toBe(true);
      expect(k1.equals(key)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
