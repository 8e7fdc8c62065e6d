/**
 * Writes the synthesised Postfix bounces of the second corpus: one recipient each, the remote
 * reply after Postfix's bounce template (src/bounce/bounce_template.c, the default failure
 * template "This is the mail system at host ... I'm sorry to have to inform you ...") and its
 * RFC 3464 report (the status is the reply's enhanced code, else X.0.0).
 * `npx tsx test/corpus/bounces/synth/make.ts`, then label.pl to relabel them.
 */
import { writeFileSync } from 'node:fs';
import { postfixDsn } from './templates.js';

const DIR = import.meta.dirname;
const said = [
 '450 <sender@example.org>: Sender address rejected: Domain not found',
 '550 Sender domain example.org not found',
 '553 sorry, your envelope sender domain must exist (#5.7.1)',
 '450 <mx.example.net>: Helo command rejected: Host not found',
 '550 Your host name mx.example.net not found',
 '550 5.1.2 <bob@example.com>: Recipient address rejected: Domain not found (in reply to RCPT TO command)',
 '550 Host unknown',
 '550 No such recipient (in reply to RCPT TO command)',
 '550 sorry, no mailbox here by that name (in reply to RCPT TO command)',
 '552 5.2.2 Mailbox full (in reply to RCPT TO command)',
 '450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.9] (in reply to RCPT TO command)',
 '554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using zen.spamhaus.org (in reply to RCPT TO command)',
];
said.forEach((s, i) => {
  // Postfix's DSN: the status is the reply's enhanced code, else X.0.0 from its reply code.
  const reply = s.replace(/ \(in reply to [A-Z ]+ command\)$/, '');
  const status = /^\d{3} (\d\.\d{1,3}\.\d{1,3})\b/.exec(reply)?.[1] ?? `${reply[0]}.0.0`;
  const text = postfixDsn(`host mx.example.com[192.0.2.1] said: ${s}`, reply, status, `ABC${i}`);
  writeFileSync(`${DIR}/postfix-${String(i + 1).padStart(2, '0')}.eml`, text);
});
