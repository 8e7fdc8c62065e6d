import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { Received } from './smtp-sink.js';

/**
 * An SMTP sink that survives its clients being SIGKILLed: smtp-server re-emits a socket reset in
 * the middle of a transaction (after MAIL FROM) as an 'error' on the server, which test/smtp-sink.ts
 * does not listen to, so a killed sender crashes the test process with an uncaught ECONNRESET.
 * Here that reset is counted instead. Each message is held `delayMs` before its 250, so a send
 * lasts long enough to be killed in its middle.
 */
export async function startKillSink(opts: { delayMs: number }) {
  const inbox: Received[] = [];
  let resets = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, cb) {
      simpleParser(stream)
        .then(async (mail) => {
          await new Promise((r) => setTimeout(r, opts.delayMs));
          const mailFrom = session.envelope.mailFrom;
          inbox.push({
            rcpt: session.envelope.rcptTo.map((r) => r.address),
            from: mailFrom ? mailFrom.address : '',
            mail,
          });
          cb();
        })
        .catch(cb);
    },
  });
  server.on('error', () => {
    resets++;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    inbox,
    url: `smtp://127.0.0.1:${port}`,
    /** Connections cut in the middle of a transaction (by a killed client). */
    resets: () => resets,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
