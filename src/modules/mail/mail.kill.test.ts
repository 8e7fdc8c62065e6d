/**
 * The mail queue's guarantee with real server processes (`node --import tsx src/main.ts`) on one
 * database and a real SMTP server in this process: a process SIGKILLed while sending loses no
 * queued mail, and the only repeats are mails it had claimed at the kill, with the same
 * Message-ID. No app runs in this process: its queue workers would take a share.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startKillSink } from '../../../test/kill-sink.js';
import { exited, startServer, stopProcesses } from '../../../test/server-process.js';
import { waitUntil } from '../../../test/wait.js';
import { type RemoteApp, remoteDatabase } from '../sending/testing/server-fixture.js';
import { queuedMessageId } from './mail.queue.js';

/** Message-IDs in the order the SMTP server accepted them. */
const received = () => smtp.inbox.map((m) => m.mail.messageId ?? '');
const CHILD = ['--import', 'tsx', 'src/main.ts'];
/** What one tick claims (mail.queue.ts): the most a dead process can hold. */
const BATCH = 20;
const N = 300;

let remote: RemoteApp;
let smtp: Awaited<ReturnType<typeof startKillSink>>;
const children: ChildProcess[] = [];

beforeAll(async () => {
  remote = await remoteDatabase();
  // Survives the killed sender's reset (an 'error' on a plain SMTPServer: an uncaught ECONNRESET).
  // A few ms each: the kill lands while a batch is being sent.
  smtp = await startKillSink({ delayMs: 5 });
}, 60_000);
afterAll(async () => {
  await stopProcesses(children);
  await smtp?.close();
  await remote?.close();
}, 60_000);

async function server() {
  const s = await startServer(CHILD, {
    DATABASE_URL: remote.databaseUrl,
    SMTP_URL: smtp.url,
    MAIL_DISPATCH_MS: '50',
    MAIL_LEASE_SECONDS: '2',
  });
  children.push(s.proc);
  return s;
}

it('loses no queued mail; repeats only mails it had claimed at the kill, with the same Message-ID', async () => {
  const first = await server();
  // As the changes' transactions write them (mailer.send), in one statement.
  const { rows } = await remote.t.sql.query<{ id: string }>(
    `insert into mail_queue ("to", subject, text)
     select 'u' || g || '@example.org', 'Mail ' || g, 'Hello ' || g from generate_series(1, $1) g
     returning id::text`,
    [N],
  );
  const expected = new Set(rows.map((r) => queuedMessageId(r.id)));
  await waitUntil(() => smtp.inbox.length >= 60, 'the first 60 mails', 60_000);
  first.proc.kill('SIGKILL');
  await exited(first.proc);
  const atKill = smtp.inbox.length;
  // Read before another process can take them over: the mails the dead one held.
  const { rows: held } = await remote.t.sql.query<{ id: string }>(
    `select id::text from mail_queue where status = 'PENDING' and lease_until is not null`,
  );
  const inFlight = new Set(held.map((r) => queuedMessageId(r.id)));
  expect(atKill).toBeLessThan(N); // the kill landed in the middle, or the test proves nothing
  await server();
  await waitUntil(() => new Set(received()).size === N, `all ${N} mails after the restart`, 90_000);
  await waitUntil(
    async () => (await remote.t.sql.query(`select 1 from mail_queue where status <> 'SENT'`)).rowCount === 0,
    'every mail recorded SENT',
  );
  const seen = new Map<string, number>();
  for (const id of received()) seen.set(id, (seen.get(id) ?? 0) + 1);
  const repeated = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  console.log(
    `mail queue SIGKILL test: ${N} queued, accepted at the kill ${atKill}, distinct ${seen.size}, ` +
      `repeated ${repeated.length}, claimed at the kill ${inFlight.size} (batch ${BATCH}), resets ${smtp.resets()}`,
  );
  expect(new Set(seen.keys())).toEqual(expected);
  expect(Math.max(...seen.values())).toBeLessThanOrEqual(2);
  expect(inFlight.size).toBeLessThanOrEqual(BATCH);
  for (const id of repeated) expect(inFlight).toContain(id);
}, 180_000);
