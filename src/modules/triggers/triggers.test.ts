/**
 * Score-threshold triggers end to end: a validated trigger operation sends, through the real
 * sending engine and a real SMTP server, to each contact the first time a score run moves its
 * score from below the threshold to at or above it; once per contact, ever, whatever reruns,
 * recomputations or later crossings do.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, code, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { startSmtpSink } from '../../../test/smtp-sink.js';
import { sleep, waitUntil } from '../../../test/wait.js';
import { emailing, ops, verifiedSender } from '../operations/testing/helpers.js';
import { contact, events, runAndWait } from '../scores/testing/helpers.js';

let t: TestApp;
let owner: Actor;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;
let scoreId: string;
let trigger: string;
const c: Record<string, string> = {};

/** A score of 10 per email click: two clicks cross the tests' threshold of 15. */
const clickScore = async (who: Actor) =>
  ok(
    await t.gql<{ createScore: { id: string } }, Record<string, unknown>>(
      'mutation($input: CreateScoreInput!) { createScore(input: $input) { id } }',
      {
        input: {
          name: 'Clicks',
          conditions: [
            { criterion: { event: { type: 'EMAIL_CLICK' } }, mode: 'FIXED_PER_EVENT', value: '10' },
          ],
        },
      },
      who.token,
    ),
  ).createScore.id;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({ SMTP_URL: sink.url, SEND_DISPATCH_SECONDS: '1' });
  owner = await signUpOwner(t, 'Triggers');
  await verifiedSender(t, owner.accountId);
  for (const name of ['ann', 'bob', 'cat', 'dan'])
    c[name] = await contact(t, owner, { email: `${name}@trig.test` });
  await t.sql.query(`update contact set email_status = 'UNSUBSCRIBED' where id = $1`, [c.cat]);
  scoreId = await clickScore(owner);
}, 120_000);
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

const mails = (name: string) => sink.inbox.filter((m) => m.rcpt.includes(`${name}@trig.test`)).length;
const clicks = (name: string, n: number) =>
  events(
    t,
    owner,
    Array.from({ length: n }, () => ({ contactId: c[name], type: 'EMAIL_CLICK' as const })),
  );
const recipients = async () =>
  Object.fromEntries(
    (
      await t.sql.query<{ contact_id: string; status: string; reason: string | null }>(
        'select contact_id::text, status, reason from operation_recipient where operation_id = $1',
        [trigger],
      )
    ).rows.map((r) => [r.contact_id, `${r.status}${r.reason ? ` ${r.reason}` : ''}`]),
  );
/** Waits until nothing of the trigger is left to send (its workers are woken every second). */
const drained = () =>
  waitUntil(async () => {
    const { rows } = await t.sql.query(
      `select count(*)::int as n from operation_recipient where operation_id = $1 and status in ('PENDING', 'CLAIMED', 'DEFERRED')`,
      [trigger],
    );
    return rows[0].n === 0;
  }, "the trigger's recipients to be sent");

describe('score-threshold triggers', () => {
  it('saves the trigger in the audience (validated with it); an unknown score is NOT_FOUND', async () => {
    const bad = await ops(t).create(owner, {
      ...emailing('bad'),
      audience: {
        allContacts: true,
        trigger: { scoreId: '00000000-0000-4000-8000-000000000000', threshold: '15' },
      },
    });
    expect(code(bad)).toBe('NOT_FOUND');
    const input = {
      ...emailing('Welcome, engaged'),
      audience: { allContacts: true, trigger: { scoreId, threshold: '15' } },
    };
    trigger = ok(await ops(t).create(owner, input)).createOperation.id;
    const read = ok(
      await t.gql<
        { operation: { audience: { trigger: { scoreId: string; threshold: string } } } },
        { id: string }
      >(
        'query($id: ID!) { operation(id: $id) { audience { trigger { scoreId threshold } } } }',
        { id: trigger },
        owner.token,
      ),
    );
    expect(read.operation.audience.trigger).toEqual({ scoreId, threshold: '15' });
    ok(await ops(t).step(owner, 'submitOperation', trigger));
    ok(await ops(t).step(owner, 'validateOperation', trigger, ', scheduleNow: true'));
    await waitUntil(async () => {
      const { rows } = await t.sql.query('select status from operation where id = $1', [trigger]);
      return rows[0].status === 'SENDING';
    }, 'the trigger to be SENDING');
    // Armed with nobody: no mail before any run.
    await sleep(1500);
    expect(sink.inbox.filter((m) => m.rcpt[0].endsWith('@trig.test')).length).toBe(0);
  });

  it('a run sends to those who crossed upward, excluded ones aside; a rerun sends nothing more', async () => {
    await clicks('ann', 2); // 20: crosses 15
    await clicks('bob', 1); // 10: below
    await clicks('cat', 2); // 20: crosses, but unsubscribed
    expect((await runAndWait(t, owner)).status).toBe('DONE');
    await drained();
    expect([mails('ann'), mails('bob'), mails('cat'), mails('dan')]).toEqual([1, 0, 0, 0]);
    expect(await recipients()).toEqual({ [c.ann]: 'SENT', [c.cat]: 'EXCLUDED UNSUBSCRIBED' });
    expect((await runAndWait(t, owner)).status).toBe('DONE');
    await sleep(1500);
    expect(mails('ann')).toBe(1);
  }, 60_000);

  it('a later crossing sends then; dropping and crossing again never sends twice', async () => {
    await clicks('bob', 1); // 20 now
    expect((await runAndWait(t, owner)).status).toBe('DONE');
    await drained();
    expect([mails('ann'), mails('bob')]).toEqual([1, 1]);
    // Ann's score back below the threshold (as a decaying score would), then two clicks: she
    // crosses upward again in that run, and gets nothing.
    await t.sql.query('update contact_score set value = 0 where score_id = $1 and contact_id = $2', [
      scoreId,
      c.ann,
    ]);
    await clicks('ann', 2);
    expect((await runAndWait(t, owner)).status).toBe('DONE');
    const { rows } = await t.sql.query(
      'select value::int from contact_score where score_id = $1 and contact_id = $2',
      [scoreId, c.ann],
    );
    expect(rows[0].value).toBeGreaterThanOrEqual(15); // from 0 before the run: a crossing
    await sleep(1500);
    expect([mails('ann'), mails('bob')]).toEqual([1, 1]);
    const { rows: send } = await t.sql.query(
      'select recipients, sent, excluded from operation_send where operation_id = $1',
      [trigger],
    );
    expect(send[0]).toMatchObject({ recipients: 2, sent: 2, excluded: { UNSUBSCRIBED: 1 } });
    // Two emails paid; the trigger stays SENDING, holding no credits between runs.
    const { rows: credit } = await t.sql.query(
      "select balance::int, reserved::int from credit_balance where account_id = $1 and kind = 'EMAIL'",
      [owner.accountId],
    );
    expect(credit[0]).toEqual({ balance: 10_000 - 2, reserved: 0 });
    const { rows: status } = await t.sql.query('select status from operation where id = $1', [trigger]);
    expect(status[0].status).toBe('SENDING');
  }, 60_000);

  it('a cancelled trigger fires for nobody', async () => {
    ok(await ops(t).step(owner, 'cancelOperation', trigger));
    await clicks('dan', 3);
    expect((await runAndWait(t, owner)).status).toBe('DONE');
    await sleep(1500);
    expect(mails('dan')).toBe(0);
    expect(Object.keys(await recipients())).not.toContain(c.dan);
  }, 60_000);

  it('a run SIGKILLed after computing the watched score sends nothing; its rerun sends once', async () => {
    const other = await signUpOwner(t, 'Killed run');
    await verifiedSender(t, other.accountId);
    const eve = await contact(t, other, { email: 'eve@killed.test' });
    const score = await clickScore(other);
    const id = ok(
      await ops(t).create(other, {
        ...emailing('On crossing'),
        audience: { allContacts: true, trigger: { scoreId: score, threshold: '15' } },
      }),
    ).createOperation.id;
    ok(await ops(t).step(other, 'submitOperation', id));
    ok(await ops(t).step(other, 'validateOperation', id, ', scheduleNow: true'));
    await waitUntil(
      async () =>
        (await t.sql.query('select status from operation where id = $1', [id])).rows[0].status === 'SENDING',
      'the trigger to be SENDING',
    );
    await events(t, other, [
      { contactId: eve, type: 'EMAIL_CLICK' },
      { contactId: eve, type: 'EMAIL_CLICK' },
    ]);
    // The child process computes the score (the crossing is found), then waits inside the
    // transaction: killed there, nothing of the run may remain.
    const url = (t.sql as unknown as { options: { connectionString: string } }).options.connectionString;
    const child = fileURLToPath(new URL('../scores/testing/run-child.ts', import.meta.url));
    const p = spawn(process.execPath, ['--import', 'tsx', child, url, other.accountId], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the child never paused')), 30_000);
      p.stdout.on('data', (d) => {
        if (String(d).includes('PAUSED')) {
          clearTimeout(timer);
          resolve();
        }
      });
      p.on('exit', (code) => reject(new Error(`the child exited (${code}) before pausing`)));
    });
    const exited = new Promise((resolve) => p.on('exit', resolve));
    p.kill('SIGKILL');
    await exited;
    await sleep(1500);
    const count = async () =>
      (await t.sql.query('select count(*)::int as n from operation_recipient where operation_id = $1', [id]))
        .rows[0].n;
    expect(await count()).toBe(0);
    expect(sink.inbox.filter((m) => m.rcpt.includes('eve@killed.test')).length).toBe(0);
    expect((await runAndWait(t, other)).status).toBe('DONE');
    await waitUntil(() => sink.inbox.some((m) => m.rcpt.includes('eve@killed.test')), "eve's mail");
    expect((await runAndWait(t, other)).status).toBe('DONE');
    await sleep(1500);
    expect(sink.inbox.filter((m) => m.rcpt.includes('eve@killed.test')).length).toBe(1);
    expect(await count()).toBe(1);
  }, 90_000);
});
