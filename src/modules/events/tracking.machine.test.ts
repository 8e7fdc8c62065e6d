import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { emailing, ops, verifiedSender } from '../operations/testing/helpers.js';
import { machineReason } from './tracking.machine.js';
import { moveHits } from './tracking.repository.js';
import { signTrackingToken, trackingKey } from './tracking.token.js';

/** Machine opens and clicks: the request rules, the timing rules in SQL, and the stats. */
let t: TestApp;
let owner: Actor;
let key: Buffer;
let origin: string;
let contacts: string[];
let opId: string;

const SAFARI =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const APPLE_MAIL = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)';

beforeAll(async () => {
  // The test client is 127.0.0.1: trusted as a proxy, so X-Forwarded-For names the client.
  t = await startTestApp({
    TRACKING_SECRET: 'test-tracking-secret-machine-0123456789',
    TRUST_PROXY: '127.0.0.1',
  });
  origin = new URL(t.url).origin;
  key = await trackingKey(t.app.services.config);
  owner = await signUpOwner(t);
  await verifiedSender(t, owner.accountId);
  opId = ok(await ops(t).create(owner, emailing())).createOperation.id;
  const made = await t.sql.query<{ id: string }>(
    `insert into contact (account_id, email) select $1, 'm' || i || '@example.com' from generate_series(1, 12) i returning id::text`,
    [owner.accountId],
  );
  contacts = made.rows.map((r) => r.id);
  // Every contact was sent the operation an hour ago (out of the send window).
  const sent = await t.gql(
    'mutation($events: [EventInput!]!) { recordEvents(events: $events) }',
    {
      events: contacts.map((c) => ({
        contactId: c,
        type: 'EMAIL_SENT',
        operationId: opId,
        occurredAt: new Date(Date.now() - 3_600_000).toISOString(),
      })),
    },
    owner.token,
  );
  expect(sent.errors).toBeUndefined();
});
afterAll(() => t.close());

const open = (c: string, headers: Record<string, string>) =>
  fetch(`${origin}/t/o/${signTrackingToken(key, { a: owner.accountId, c, o: opId, k: 'o' })}.gif`, {
    headers,
  });
const click = (c: string, url: string, headers: Record<string, string>) =>
  fetch(`${origin}/t/c/${signTrackingToken(key, { a: owner.accountId, c, o: opId, u: url, k: 'c' })}`, {
    headers,
    redirect: 'manual',
  });
/** The contact's tracked events, oldest first: [type, machine]; the staged hits moved first. */
const flags = async (c: string) => {
  await moveHits(t.sql);
  return (
    await t.sql.query<{ type: number; machine: boolean }>(
      'select type, machine from contact_event where contact_id = $1 and type in (0, 1) order by id',
      [c],
    )
  ).rows.map((r) => [r.type === 0 ? 'open' : 'click', r.machine]);
};

describe('machineReason (the request rules)', () => {
  it('tells Apple Mail Privacy Protection, scanners and tools from mail clients and browsers', () => {
    expect(machineReason('open', 'Mozilla/5.0', '203.0.113.9')).toBe('apple-proxy');
    expect(machineReason('click', 'Mozilla/5.0', '203.0.113.9')).toBe('scanner');
    expect(machineReason('open', SAFARI, '17.58.0.1')).toBe('apple-proxy');
    expect(machineReason('open', SAFARI, '::ffff:17.1.2.3')).toBe('apple-proxy');
    // A click from Apple's addresses may be a person behind iCloud Private Relay.
    expect(machineReason('click', SAFARI, '17.58.0.1')).toBeNull();
    for (const ua of [
      'Mozilla/5.0 (compatible; BingPreview/1.0b)',
      'Barracuda Sentinel (EE)',
      'Mimecast URL Protect',
      'python-requests/2.31.0',
      'Go-http-client/1.1',
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36',
    ]) {
      expect(machineReason('click', ua, '198.51.100.7'), ua).toBe('scanner');
    }
    expect(machineReason('click', undefined, '198.51.100.7')).toBe('no-user-agent');
    expect(machineReason('open', '  ', null)).toBe('no-user-agent');
    // People: a browser, Apple Mail without MPP, Gmail's proxy (fetches when the reader opens).
    expect(machineReason('click', SAFARI, '198.51.100.7')).toBeNull();
    expect(machineReason('open', APPLE_MAIL, '198.51.100.7')).toBeNull();
    expect(
      machineReason(
        'open',
        'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)',
        '66.249.84.1',
      ),
    ).toBeNull();
  });
});

describe('tracked hits', () => {
  it('a person is human; an MPP open, an Apple-address open and a scanner click are machine-made', async () => {
    const [human, mpp, appleIp, scanner] = contacts;
    expect((await open(human, { 'user-agent': APPLE_MAIL, 'x-forwarded-for': '203.0.113.5' })).status).toBe(
      200,
    );
    const res = await click(human, 'https://shop.example/a', { 'user-agent': SAFARI });
    expect(res.status).toBe(302);
    expect((await open(mpp, { 'user-agent': 'Mozilla/5.0' })).status).toBe(200);
    expect((await open(appleIp, { 'user-agent': APPLE_MAIL, 'x-forwarded-for': '17.253.1.2' })).status).toBe(
      200,
    );
    // A scanner still gets its redirect: the link works, the click is only counted apart.
    const scanned = await click(scanner, 'https://shop.example/a', {
      'user-agent': 'Barracuda Sentinel (EE)',
    });
    expect(scanned.status).toBe(302);
    expect(scanned.headers.get('location')).toBe('https://shop.example/a');
    expect(await flags(human)).toEqual([
      ['open', false],
      ['click', false],
    ]);
    expect(await flags(mpp)).toEqual([['open', true]]);
    expect(await flags(appleIp)).toEqual([['open', true]]);
    expect(await flags(scanner)).toEqual([['click', true]]);
  });

  it('a hit within seconds of its send, or while the send is being recorded, is machine-made', async () => {
    const [, , , , justSent, claimed, later] = contacts;
    const sent = await t.gql(
      'mutation($events: [EventInput!]!) { recordEvents(events: $events) }',
      { events: [{ contactId: justSent, type: 'EMAIL_SENT', operationId: opId }] },
      owner.token,
    );
    expect(sent.errors).toBeUndefined();
    await t.sql.query(
      `insert into operation_recipient (operation_id, contact_id, account_id, address, status)
       values ($1, $2, $3, 'm6@example.com', 'CLAIMED')`,
      [opId, claimed, owner.accountId],
    );
    await click(justSent, 'https://shop.example/a', { 'user-agent': SAFARI });
    await open(claimed, { 'user-agent': APPLE_MAIL });
    await open(later, { 'user-agent': APPLE_MAIL }); // sent an hour ago
    expect(await flags(justSent)).toEqual([['click', true]]);
    expect(await flags(claimed)).toEqual([['open', true]]);
    expect(await flags(later)).toEqual([['open', false]]);
  });

  it('a contact clicking several links within seconds is a scanner, its first clicks included', async () => {
    const [, , , , , , , walker, reader] = contacts;
    for (const u of ['https://shop.example/a', 'https://shop.example/b']) {
      await click(walker, u, { 'user-agent': SAFARI });
    }
    expect(await flags(walker)).toEqual([
      ['click', false],
      ['click', false],
    ]);
    await click(walker, 'https://shop.example/c', { 'user-agent': SAFARI });
    expect(await flags(walker)).toEqual([
      ['click', true],
      ['click', true],
      ['click', true],
    ]);
    // The same link twice is a person clicking again.
    for (let i = 0; i < 3; i++) await click(reader, 'https://shop.example/a', { 'user-agent': SAFARI });
    expect((await flags(reader)).every(([, m]) => m === false)).toBe(true);
  });

  it('Operation.stats keeps machine hits out of opens, clicks and rates, and counts them apart', async () => {
    const q = `query($id: ID!) { operation(id: $id) { stats { sent opens { total unique } clicks { total unique }
      machineOpens { total unique } machineClicks { total unique } openRate clickRate clicksPerLink { url total unique } } } }`;
    await moveHits(t.sql); // statistics lag the answers by the move (at most MOVE_EVERY_MS)
    const got = ok(
      await t.gql<{ operation: { stats: Record<string, unknown> } }, { id: string }>(
        q,
        { id: opId },
        owner.token,
      ),
    );
    // From the tests above: human opens by contacts 1 and 7; MPP, Apple-address and claimed opens;
    // human clicks: contact 1 once, the reader three times on one link; machine: the scanner, the
    // just-sent contact and the walker's three.
    expect(got.operation.stats).toEqual({
      sent: 13,
      opens: { total: 2, unique: 2 },
      clicks: { total: 4, unique: 2 },
      machineOpens: { total: 3, unique: 3 },
      machineClicks: { total: 5, unique: 3 },
      openRate: 2 / 13,
      clickRate: 2 / 13,
      clicksPerLink: [{ url: 'https://shop.example/a', total: 4, unique: 2 }],
    });
  });
});
