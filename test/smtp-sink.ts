import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface Received {
  rcpt: string[];
  /** The envelope sender (MAIL FROM): where a DSN of this message would go. */
  from: string;
  mail: ParsedMail;
  /** The message as received, byte for byte (what a DKIM verifier reads); this sink keeps it. */
  raw?: Buffer;
}

/**
 * A real SMTP server on a free port for the sending tests: it keeps what it accepts, parsed, and
 * answers RCPT TO with `refuse(address)`'s code when it gives one (550: hard, 451: try later).
 */
export async function startSmtpSink(
  opts: { refuse?: (address: string) => number | null; delayMs?: number } = {},
) {
  const inbox: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onRcptTo(address, _s, cb) {
      const code = opts.refuse?.(address.address) ?? null;
      if (code)
        return cb(
          Object.assign(
            new Error(
              code >= 500 ? '5.1.1 Recipient address rejected: User unknown' : '4.2.0 Try again later',
            ),
            { responseCode: code },
          ),
        );
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.once('error', cb);
      stream.once('end', () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw)
          .then(async (mail) => {
            if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
            const mailFrom = session.envelope.mailFrom;
            inbox.push({
              rcpt: session.envelope.rcptTo.map((r) => r.address),
              from: mailFrom ? mailFrom.address : '',
              mail,
              raw,
            });
            cb();
          })
          .catch(cb);
      });
    },
  });
  // A client killed mid-message resets its connection: an error of the server, not of the test.
  server.on('error', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    inbox,
    url: `smtp://127.0.0.1:${port}`,
    /** Messages received per recipient address. */
    counts(): Map<string, number> {
      const m = new Map<string, number>();
      for (const r of inbox) for (const a of r.rcpt) m.set(a, (m.get(a) ?? 0) + 1);
      return m;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
