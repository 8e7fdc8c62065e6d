/**
 * The SMTP sink of bench/sending.ts, in a process of its own so that it shares an event loop
 * with neither sender (nodemailer's pool runs in the bench process, ours in the server's): a real
 * smtp-server that reads each message to its end and drops it (no parsing: it must cost as little
 * as possible, and the same for both), counting messages per recipient and the time the first
 * and the last one ended. Prints `SMTP <url>` once it listens; answers the bench over IPC:
 * `reset` (forget what came) and `seen` (what came since).
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

let counts = new Map<string, number>();
let total = 0;
let first = 0;
let last = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  onData(stream, session, cb) {
    stream.on('end', () => {
      // Wall-clock milliseconds (with fractions), comparable with the bench process's clock.
      const now = performance.timeOrigin + performance.now();
      if (!total) first = now;
      last = now;
      total++;
      for (const r of session.envelope.rcptTo) counts.set(r.address, (counts.get(r.address) ?? 0) + 1);
      cb();
    });
    stream.resume();
  },
});
server.on('error', () => {});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.server.address() as AddressInfo;
  process.stdout.write(`SMTP smtp://127.0.0.1:${port}\n`);
});
process.on('message', (m: { id: number; type: 'reset' | 'seen' }) => {
  if (m.type === 'reset') {
    counts = new Map();
    total = first = last = 0;
    process.send?.({ id: m.id });
  } else process.send?.({ id: m.id, total, first, last, counts: [...counts] });
});
process.on('disconnect', () => server.close(() => process.exit(0)));
