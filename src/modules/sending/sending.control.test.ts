/**
 * Pause, resume and cancel during a send, against a slow real SMTP server (one worker, one
 * message at a time, 40 ms each), so a send lasts long enough to be steered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { startSmtpSink } from '../../../test/smtp-sink.js';
import { sleep, waitUntil } from '../../../test/wait.js';
import { emailing, ops, verifiedSender } from '../operations/testing/helpers.js';

let t: TestApp;
let owner: Actor;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;
const BATCH = 5;

beforeAll(async () => {
  sink = await startSmtpSink({ delayMs: 40 });
  t = await startTestApp({
    SMTP_URL: sink.url,
    SEND_DISPATCH_SECONDS: '1',
    SEND_BATCH_SIZE: String(BATCH),
    SEND_WORKERS: '1',
    SEND_CONCURRENCY: '1',
  });
  owner = await signUpOwner(t, 'Steer');
  await verifiedSender(t, owner.accountId);
}, 120_000);
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

async function scheduled(tag: string, n: number): Promise<string> {
  await t.sql.query(
    `insert into contact (account_id, email, unique_value)
     select $1, 'c' || g || '@${tag}.test', 'c' || g || '@${tag}.test' from generate_series(1, $2::int) g`,
    [owner.accountId, n],
  );
  const segment = ok(
    await t.gql<{ createSegment: { id: string } }, Record<string, unknown>>(
      'mutation($input: CreateSegmentInput!) { createSegment(input: $input) { id } }',
      {
        input: { name: tag, criterion: { field: { name: 'email', op: 'CONTAINS', value: `@${tag}.test` } } },
      },
      owner.token,
    ),
  ).createSegment.id;
  const o = ops(t);
  const id = ok(await o.create(owner, { ...emailing(tag), audience: { segmentIds: [segment] } }))
    .createOperation.id;
  ok(await o.step(owner, 'submitOperation', id));
  ok(await o.step(owner, 'validateOperation', id, ', scheduleNow: true'));
  return id;
}

const received = (tag: string) => sink.inbox.filter((m) => m.rcpt[0].endsWith(`@${tag}.test`)).length;
const statusOf = async (id: string) =>
  (await t.sql.query('select status from operation where id = $1', [id])).rows[0].status as string;

describe('steering a send', () => {
  it('pause stops claiming (at most the batch in flight arrives after it); resume finishes, once each', async () => {
    const id = await scheduled('pause', 60);
    await waitUntil(() => received('pause') >= 10, '10 messages at the sink');
    const paused = ok(await ops(t).step(owner, 'pauseOperation', id)).pauseOperation;
    expect(paused.status).toBe('PAUSED');
    const atPause = received('pause');
    await sleep(1500);
    const settled = received('pause');
    expect(settled - atPause).toBeLessThanOrEqual(BATCH);
    await sleep(1500);
    expect(received('pause')).toBe(settled);
    expect(settled).toBeLessThan(60);
    ok(await ops(t).step(owner, 'resumeOperation', id));
    await waitUntil(async () => (await statusOf(id)) === 'SENT', 'the send to end SENT');
    const counts = [...sink.counts()].filter(([a]) => a.endsWith('@pause.test'));
    expect(counts.length).toBe(60);
    expect(counts.every(([, n]) => n === 1)).toBe(true);
  }, 60_000);

  it('cancel stops the rest: they end CANCELLED, never sent', async () => {
    const id = await scheduled('cancel', 60);
    await waitUntil(() => received('cancel') >= 10, '10 messages at the sink');
    ok(await ops(t).step(owner, 'cancelOperation', id));
    await waitUntil(async () => {
      const { rows } = await t.sql.query(
        `select count(*)::int as n from operation_recipient where operation_id = $1 and status in ('PENDING', 'DEFERRED')`,
        [id],
      );
      return rows[0].n === 0;
    }, 'nothing PENDING or DEFERRED left');
    await sleep(1000);
    const sent = received('cancel');
    expect(sent).toBeLessThan(60);
    const { rows } = await t.sql.query(
      'select status, count(*)::int as n from operation_recipient where operation_id = $1 group by status order by status',
      [id],
    );
    const by = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    expect(by.SENT + (by.CANCELLED ?? 0) + (by.CLAIMED ?? 0)).toBe(60);
    expect(by.SENT).toBe(sent);
    expect(by.CANCELLED).toBeGreaterThan(0);
    expect(await statusOf(id)).toBe('CANCELLED');
  }, 60_000);
});
