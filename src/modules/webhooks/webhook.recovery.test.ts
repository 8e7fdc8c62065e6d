/**
 * Recovery over simulated time (webhookClock moves the schedule; every request is real): a
 * receiver down across several back-off steps while 10,000 events are produced gets each of them
 * exactly once when it is back, in event order for an ordered webhook; a receiver that fails for
 * five days puts its webhook in FAILING, mails the approvers once, and nothing is lost for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { sleep, waitUntil } from '../../../test/wait.js';
import { activeHook, clicks, contactsOf } from './testing/hooks.js';
import { type Receiver, startReceiver } from './testing/receiver.js';
import { webhookClock } from './webhook.clock.js';
import { BACKOFF_S, MAX_ATTEMPTS } from './webhook.deliver.js';

let t: TestApp;
let owner: Actor;
let rx: Receiver;

beforeAll(async () => {
  t = await startTestApp({ WEBHOOK_DISPATCH_MS: '100' });
  owner = await signUpOwner(t);
  rx = await startReceiver();
});
afterAll(async () => {
  webhookClock.offsetMs = 0;
  await rx?.close();
  await t?.close();
});

const idsOf = (name: string) => rx.hitsOf(name).map((h) => Number(h.id.replace(/^msg_/, '')));

/** Per status, the deliveries of a webhook that are at rest (no lease held). */
async function state(hookId: string) {
  const { rows } = await t.sql.query<{ status: string; n: number; min_attempts: number; held: number }>(
    `select status, count(*)::int as n, min(attempts)::int as min_attempts,
            count(*) filter (where lease_until is not null)::int as held
       from webhook_delivery where webhook_id = $1 group by status`,
    [hookId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r]));
}

/** The simulated time until an ordered webhook's head delivery is due, in ms (>= 0). */
async function untilDue(hookId: string): Promise<number> {
  const { rows } = await t.sql.query<{ at: Date }>(
    `select next_attempt_at as at from webhook_delivery where webhook_id = $1 and status = 'PENDING'
      order by id limit 1`,
    [hookId],
  );
  return Math.max(0, rows[0].at.getTime() - webhookClock.now().getTime());
}

describe('a receiver down for several back-off steps', () => {
  it('gets every one of 10,000 events exactly once when it is back, in order when ordered', async () => {
    const N = 10_000;
    const STEPS = 3; // down through the 5 s, 5 min and 30 min waits
    const ordered = await activeHook(t, owner, { url: rx.urlFor('ordered'), eventTypes: ['EMAIL_CLICK'] });
    const parallel = await activeHook(t, owner, {
      url: rx.urlFor('parallel'),
      eventTypes: ['EMAIL_CLICK'],
      ordered: false,
    });
    await rx.down();
    const contacts = await contactsOf(t, owner.accountId, 50);
    await clicks(t, owner.accountId, contacts, N);
    for (let step = 1; step <= STEPS; step++) {
      // Every parallel row tried `step` times (each with its own schedule), the ordered head too,
      // and nothing held: then the next wait is skipped, jitter included.
      await waitUntil(
        async () => {
          const p = (await state(parallel.id)).PENDING;
          const o = await t.sql.query<{ attempts: number }>(
            `select attempts from webhook_delivery where webhook_id = $1 order by id limit 1`,
            [ordered.id],
          );
          return p?.n === N && p.min_attempts >= step && p.held === 0 && o.rows[0].attempts >= step;
        },
        `attempt ${step} of every delivery while the receiver is down`,
        120_000,
      );
      if (step < STEPS) webhookClock.advance(BACKOFF_S[step - 1] * 1200 + 1000);
    }
    // The ordered webhook never went past its failing head.
    const { rows: tried } = await t.sql.query<{ n: number }>(
      `select count(*)::int as n from webhook_delivery where webhook_id = $1 and attempts > 0`,
      [ordered.id],
    );
    expect(tried[0].n).toBe(1);
    expect(rx.hits).toHaveLength(0);
    await rx.up();
    webhookClock.advance(BACKOFF_S[STEPS - 1] * 1200 + 1000);
    await waitUntil(
      () => new Set(idsOf('ordered')).size === N && new Set(idsOf('parallel')).size === N,
      'all deliveries of both webhooks after the receiver came back',
      180_000,
    );
    await sleep(500); // nothing more may come
    await waitUntil(
      async () =>
        (await state(parallel.id)).SUCCEEDED?.n === N && (await state(ordered.id)).SUCCEEDED?.n === N,
      'every outcome recorded',
    );
    for (const name of ['ordered', 'parallel']) {
      const ids = idsOf(name);
      expect(ids.length - new Set(ids).size, `${name}: duplicates`).toBe(0);
      expect(ids, `${name}: exactly the 10,000 deliveries`).toHaveLength(N);
    }
    // Ordered: received in the order of the events (delivery ids follow the insert order).
    const inOrder = idsOf('ordered');
    expect(inOrder).toEqual([...inOrder].sort((a, b) => a - b));
    const p = await state(parallel.id);
    expect(p.SUCCEEDED?.n).toBe(N);
    expect(p.SUCCEEDED?.min_attempts).toBe(STEPS + 1);
    expect((await state(ordered.id)).SUCCEEDED?.n).toBe(N);
    const { rows: hooks } = await t.sql.query<{ status: string; failure_streak: number }>(
      'select status, failure_streak from webhook where id = any($1::uuid[])',
      [[ordered.id, parallel.id]],
    );
    expect(hooks).toEqual([
      { status: 'ACTIVE', failure_streak: 0 },
      { status: 'ACTIVE', failure_streak: 0 },
    ]);
    for (const id of [ordered.id, parallel.id])
      ok(await t.gql(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id }, owner.token));
  }, 400_000);
});

describe('a receiver failing for days', () => {
  it('goes FAILING after 5 days, mails the approvers once, keeps everything and resumes in order', async () => {
    let answer = 500;
    const prev = rx.answer;
    rx.answer = (h) =>
      h.path === '/hooks/failing' ? { status: answer, body: 'down for maintenance' } : prev(h);
    const hook = await activeHook(t, owner, {
      name: 'Failing ERP',
      url: rx.urlFor('failing'),
      eventTypes: ['EMAIL_CLICK'],
    });
    const contacts = await contactsOf(t, owner.accountId, 3);
    await clicks(t, owner.accountId, contacts, 3);
    const statusOf = async () =>
      (
        await t.sql.query<{ status: string; status_reason: string | null }>(
          'select status, status_reason from webhook where id = $1',
          [hook.id],
        )
      ).rows[0];
    const start = webhookClock.now().getTime();
    // Each step: wait for the due attempt to be made and recorded, then jump to the next one.
    for (let i = 0; i < 40 && (await statusOf()).status === 'ACTIVE'; i++) {
      const before = rx.hitsOf('failing').length;
      await waitUntil(
        async () => rx.hitsOf('failing').length > before || (await statusOf()).status !== 'ACTIVE',
        `attempt ${i + 1}`,
      );
      await waitUntil(async () => !(await state(hook.id)).PENDING?.held, 'the attempt recorded');
      if ((await statusOf()).status === 'ACTIVE') webhookClock.advance((await untilDue(hook.id)) + 1000);
    }
    const failing = await statusOf();
    expect(failing.status).toBe('FAILING');
    expect(failing.status_reason).toMatch(/every attempt failed since/);
    const elapsedH = (webhookClock.now().getTime() - start) / 3_600_000;
    expect(elapsedH).toBeGreaterThanOrEqual(120);
    expect(elapsedH).toBeLessThan(150);
    // The first delivery used its whole schedule (60 to 91 h with the ±20% jitter) and is kept
    // FAILED; so may the second, when both drew short jitters; the others wait, PENDING.
    const s = await state(hook.id);
    expect(s.FAILED).toMatchObject({ min_attempts: MAX_ATTEMPTS });
    const kept = s.PENDING?.n ?? 0;
    expect(s.FAILED?.n, 'FAILED deliveries').toBeOneOf([1, 2]);
    expect(kept, 'PENDING deliveries').toBe(3 - (s.FAILED?.n ?? 0));
    const mails = await t.sql.query<{ to: string; subject: string }>(
      `select "to", subject from outbox_message where subject like 'Webhook "Failing ERP"%'`,
    );
    expect(mails.rows).toEqual([{ to: owner.email, subject: expect.stringMatching(/is failing/) }]);
    // FAILING: not attempted, whatever time passes.
    const hits = rx.hitsOf('failing').length;
    webhookClock.advance(3 * 86_400_000);
    await sleep(600);
    expect(rx.hitsOf('failing')).toHaveLength(hits);
    // The receiver is mended and an approver activates it: what waited goes, in order.
    answer = 200;
    ok(await t.gql(`mutation($id: ID!) { activateWebhook(id: $id) { id } }`, { id: hook.id }, owner.token));
    await waitUntil(async () => (await state(hook.id)).SUCCEEDED?.n === kept, 'the kept deliveries');
    const after = rx
      .hitsOf('failing')
      .slice(hits)
      .map((h) => h.id);
    expect(after).toHaveLength(kept);
    expect(after).toEqual([...after].sort((a, b) => Number(a.slice(4)) - Number(b.slice(4))));
    expect((await statusOf()).status).toBe('ACTIVE');
    expect(mails.rows).toHaveLength(1);
    rx.answer = prev;
  }, 120_000);
});
