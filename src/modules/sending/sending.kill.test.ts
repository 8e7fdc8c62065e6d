/**
 * The delivery guarantee with real server processes (`node --import tsx src/main.ts`) on one
 * database, sending to real SMTP sinks in this process: a process SIGKILLed in the middle of a send
 * loses no recipient, and the only duplicates are messages of the batch it had in flight (at most
 * SEND_BATCH_SIZE: a process runs one worker job at a time), each with the Message-ID of its first
 * copy; two processes started before a send share it, with no recipient twice. No app runs in this process: its
 * Agenda would take a share of the send.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, signUpOwner } from '../../../test/harness.js';
import { startKillSink } from '../../../test/kill-sink.js';
import { alive, exited, type Started, startServer, stopProcesses } from '../../../test/server-process.js';
import type { Received } from '../../../test/smtp-sink.js';
import { verifiedSender } from '../operations/testing/helpers.js';
import {
  contactsInSql,
  type RemoteApp,
  remoteDatabase,
  validatedNow,
  waitFor,
} from './testing/server-fixture.js';

const CHILD = ['--import', 'tsx', 'src/main.ts'];
const BATCH = 20;
const WORKERS = 2;
const LEASE_SECONDS = 3;
/** Per message at the sink: a send of 1,500 lasts seconds, so the kill lands in its middle. */
const SINK_DELAY_MS = 8;

type Sink = Awaited<ReturnType<typeof startKillSink>>;
let remote: RemoteApp;
let owner: Actor;
const sinks: Sink[] = [];
const children: ChildProcess[] = [];

const childEnv = (smtpUrl: string) => ({
  DATABASE_URL: remote.databaseUrl,
  SMTP_URL: smtpUrl,
  SEND_DISPATCH_SECONDS: '1',
  SEND_LEASE_SECONDS: String(LEASE_SECONDS),
  SEND_BATCH_SIZE: String(BATCH),
  SEND_WORKERS: String(WORKERS),
  // One worker job per process, so the two processes share a send and the in-flight window is
  // one batch per process (the default, 2, lets one process hold both slots).
  SEND_PROCESS_SLOTS: '1',
  SEND_RETRY_SECONDS: '1',
  // The same secret in every child: links signed by one are valid on the other.
  TRACKING_SECRET: 'kill-test-tracking-secret-0123456789',
});

async function server(smtpUrl: string): Promise<Started> {
  const s = await startServer(CHILD, childEnv(smtpUrl));
  children.push(s.proc);
  remote.retarget(s.url);
  return s;
}

async function sink(delayMs = SINK_DELAY_MS): Promise<Sink> {
  const s = await startKillSink({ delayMs });
  sinks.push(s);
  return s;
}

/** The account both tests send from, signed up through whichever child is up (either test runs alone). */
async function theOwner(): Promise<Actor> {
  if (!owner) {
    owner = await signUpOwner(remote.t, 'Sender');
    await verifiedSender(remote.t, owner.accountId);
  }
  return owner;
}

beforeAll(async () => {
  remote = await remoteDatabase();
}, 60_000);

const stopChildren = () => stopProcesses(children);

afterAll(async () => {
  // Children first (they hold connections to the database dropped below), even after a failure.
  await stopChildren();
  await remote?.close();
  for (const s of sinks) await s.close();
}, 60_000);

const statusOf = async (id: string) =>
  (await remote.t.sql.query<{ status: string }>('select status from operation where id = $1', [id])).rows[0]
    .status;

/** The messages of @<tag>.test at these sinks, per recipient address. */
function byRecipient(tag: string, inboxes: Received[][]): Map<string, Received[]> {
  const m = new Map<string, Received[]>();
  for (const inbox of inboxes)
    for (const r of inbox)
      for (const a of r.rcpt) if (a.endsWith(`@${tag}.test`)) m.set(a, [...(m.get(a) ?? []), r]);
  return m;
}

const contactIds = async (tag: string) =>
  new Map(
    (
      await remote.t.sql.query<{ email: string; id: string }>(
        `select email, id::text from contact where email like $1`,
        [`%@${tag}.test`],
      )
    ).rows.map((r) => [r.email, r.id]),
  );

describe('a server process SIGKILLed in the middle of a send', () => {
  it('loses no recipient; duplicates only from its in-flight batches, with the same Message-ID', async () => {
    const N = 1500;
    const box = await sink();
    const first = await server(box.url);
    const who = await theOwner();
    await contactsInSql(remote.t, who.accountId, 'kill', N);
    const id = await validatedNow(remote.t, who, 'kill');
    const got = () => byRecipient('kill', [box.inbox]).size;
    await waitFor(
      () => `only ${got()} received`,
      () => box.inbox.length >= 300,
      60_000,
    );
    first.proc.kill('SIGKILL');
    await exited(first.proc);
    const atKill = box.inbox.length;
    // The in-flight window, read before any process can take it over: the recipients the dead
    // process had claimed and not recorded. Only these may get a second copy.
    const { rows: claimed } = await remote.t.sql.query<{ address: string }>(
      `select address from operation_recipient where operation_id = $1 and status = 'CLAIMED'
          and split_part(claimed_by, ':', 2) = $2`,
      [id, String(first.proc.pid)],
    );
    const inFlight = new Set(claimed.map((r) => r.address));
    // The kill must land in the middle, or the test proves nothing.
    expect(atKill).toBeLessThan(N);
    const killedAt = Date.now();
    await server(box.url);
    await waitFor(
      () => `operation not SENT: ${got()} of ${N} recipients reached`,
      async () => (await statusOf(id)) === 'SENT',
      100_000,
    );
    const tookOverMs = Date.now() - killedAt;
    const per = byRecipient('kill', [box.inbox]);
    const messages = [...per.values()].reduce((n, l) => n + l.length, 0);
    const duplicates = [...per.values()].filter((l) => l.length > 1).length;
    // At most one batch per worker job running in the one process alive at the kill: a process
    // runs one worker job at a time here (SEND_PROCESS_SLOTS=1 in childEnv), whatever SEND_WORKERS is.
    const window = BATCH * 1 * 1;
    console.log(
      `SIGKILL test: recipients ${N}, reached ${per.size}, messages ${messages}, duplicates ${duplicates}, ` +
        `in flight at the kill ${inFlight.size}, window ${window} (batch ${BATCH} x 1 worker job per process x 1 process), received at the kill ${atKill}, ` +
        `SENT ${(tookOverMs / 1000).toFixed(1)} s after the kill`,
    );
    // None missing, none three times, duplicates within the in-flight window.
    expect(per.size).toBe(N);
    expect(Math.max(...[...per.values()].map((l) => l.length))).toBeLessThanOrEqual(2);
    expect(inFlight.size).toBeLessThanOrEqual(window);
    for (const [address, copies] of per) if (copies.length > 1) expect(inFlight).toContain(address);
    // Every copy, first or second, carries the recipient's deterministic Message-ID.
    const ids = await contactIds('kill');
    for (const [address, copies] of per)
      for (const c of copies) expect(c.mail.messageId).toBe(`<${id}.${ids.get(address)}@acme.example>`);
    // The operation counts each recipient once, however many copies went out.
    const { rows } = await remote.t.sql.query(
      `select (select sent from operation_send where operation_id = $1) as sent,
              (select count(*)::int from operation_recipient where operation_id = $1 and status = 'SENT') as recorded`,
      [id],
    );
    expect(rows[0]).toEqual({ sent: N, recorded: N });
  }, 150_000);
});

describe('two server processes started before a send', () => {
  let pair: Started[] = [];
  let boxes: Sink[] = [];

  beforeAll(async () => {
    // Only these two send (the survivor of the test above would send to its own sink).
    await stopChildren();
    // One sink per process: where a message arrived says which process sent it.
    // Slower sinks (40 ms a message): one process alone would need about 8 s, longer than
    // Agenda's 3 s poll, so the other process's worker job starts before the send is over
    // (at 8 ms, on a loaded CI machine, one process once sent all 1,000 before the other polled).
    boxes = [await sink(40), await sink(40)];
    // One after the other, the owner made in between: two first starts on a database with no
    // user would both seed the demo owner, and the second dies on its unique email.
    pair = [await server(boxes[0].url)];
    await theOwner();
    pair.push(await server(boxes[1].url));
  }, 90_000);

  let shares: number[] = [];
  let pids: string[] = [];
  let aliveAtEnd: boolean[] = [];

  it('send it with every recipient exactly one message, SENT', async () => {
    const N = 1000;
    const who = await theOwner();
    await contactsInSql(remote.t, who.accountId, 'pair', N);
    const id = await validatedNow(remote.t, who, 'pair');
    const reached = () =>
      byRecipient(
        'pair',
        boxes.map((b) => b.inbox),
      ).size;
    let last = '';
    await waitFor(
      () => `operation ${last} not SENT: ${reached()} of ${N} reached`,
      async () => {
        last = await statusOf(id);
        return last === 'SENT';
      },
      60_000,
    );
    const per = byRecipient(
      'pair',
      boxes.map((b) => b.inbox),
    );
    shares = boxes.map((b) => byRecipient('pair', [b.inbox]).size);
    const { rows } = await remote.t.sql.query<{ pid: string; n: number }>(
      `select split_part(claimed_by, ':', 2) as pid, count(*)::int as n from operation_recipient
        where operation_id = $1 group by 1 order by 1`,
      [id],
    );
    pids = rows.map((r) => r.pid);
    aliveAtEnd = pair.map((p) => alive(p.proc));
    console.log(
      `two processes (pids ${pair.map((p) => p.proc.pid).join(', ')}, alive at the end ${aliveAtEnd.join(', ')}): recipients ${N}, reached ${per.size}, ` +
        `messages per process's sink ${shares.join(' + ')}, last claims per pid ${rows.map((r) => `${r.pid}: ${r.n}`).join(', ')}`,
    );
    expect(per.size).toBe(N);
    expect([...per.values()].every((l) => l.length === 1)).toBe(true);
    // Whichever process sent a message, it recorded it: the claims name only these two.
    expect(pids.every((p) => pair.some((c) => String(c.proc.pid) === p))).toBe(true);
  }, 90_000);

  // Both processes stay up (a remote job event once crashed the other one: src/http/metrics.ts)
  // and each runs one worker job at a time, so both take part in the send.
  it('both processes sent some of it', () => {
    expect(shares.length).toBe(2);
    expect(aliveAtEnd).toEqual([true, true]);
    expect(shares.every((n) => n > 0)).toBe(true);
    expect([...pids].sort()).toEqual(pair.map((p) => String(p.proc.pid)).sort());
  });
});
