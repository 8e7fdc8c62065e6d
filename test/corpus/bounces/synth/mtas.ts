/**
 * Writes the multi-MTA part of the second corpus: one recipient each, a remote server's reply (or
 * the reporting MTA's own verdict) put in the bounce templates of five MTAs (templates.ts). The
 * replies are the ones the providers and MTAs document (Gmail's and Yahoo's SMTP error pages,
 * Postfix's and Exim's manuals, RFC 5321/3463 texts). `npx tsx test/corpus/bounces/synth/mtas.ts`,
 * then label.pl.
 */
import { writeFileSync } from 'node:fs';
import { HOST, RCPT, type Said, TEMPLATES } from './templates.js';

const DIR = import.meta.dirname;

const remote: Said[] = [
  { step: 'RCPT', text: '550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown in virtual mailbox table' },
  { step: 'RCPT', text: '550-5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient\'s email address for typos or unnecessary spaces.' },
  { step: 'RCPT', text: '550 Requested action not taken: mailbox unavailable' },
  { step: 'RCPT', text: '554 delivery error: dd This user doesn\'t have a example.com account' },
  { step: 'RCPT', text: '550 5.1.1 <bob@example.com>... User unknown' },
  { step: 'RCPT', text: '511 sorry, no mailbox here by that name (#5.1.1)' },
  { step: 'DATA', text: '550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown' },
  { step: 'RCPT', text: '452-4.2.2 The email account that you tried to reach is over quota.' },
  { step: 'DATA', text: '552 5.2.2 Mailbox full' },
  { step: 'RCPT', text: '550-5.2.1 The email account that you tried to reach is disabled.' },
  { step: 'RCPT', text: '551 5.1.6 User has moved; please try <bob@example.net>' },
  { step: 'RCPT', text: '554 5.7.1 <bob@example.com>: Relay access denied' },
  { step: 'DATA', text: '552 5.3.4 Message size exceeds fixed limit' },
  { step: 'MAIL', text: '552 5.3.4 Message size exceeds fixed maximum message size' },
  { step: 'DATA', text: '550-5.7.26 This mail has been blocked because the sender is unauthenticated.' },
  { step: 'DATA', text: '550 5.7.1 Message rejected as spam by Content Filtering.' },
  { step: 'DATA', text: '554 5.7.1 The message was rejected because it contains prohibited virus or spam content' },
  { step: 'DATA', text: '550 5.7.1 Message rejected due to local policy' },
  { step: 'CONNECT', text: '554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using zen.spamhaus.org' },
  { step: 'RCPT', text: '554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using zen.spamhaus.org' },
  { step: 'CONNECT', text: '421 4.7.0 Too many concurrent SMTP connections from this IP address; please try again later' },
  { step: 'MAIL', text: '421 4.7.0 [TSS04] Messages from 192.0.2.9 temporarily deferred due to unexpected volume or user complaints' },
  { step: 'MAIL', text: '553 5.1.8 <sender@example.org>... Domain of sender address sender@example.org does not exist' },
  { step: 'HELO', text: '504 5.5.2 <mx>: Helo command rejected: need fully-qualified hostname' },
  { step: 'RCPT', text: '450 4.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.9]' },
  { step: 'RCPT', text: '451 4.3.0 Temporary local problem - please try later' },
  { step: 'RCPT', text: '450 4.2.0 <bob@example.com>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/' },
  { step: 'DATA', text: '550 5.6.0 Message content rejected' },
  { step: 'DATA', text: '554 5.6.1 Body type not supported' },
  { step: 'RCPT', text: '550 5.4.1 Recipient address rejected: Access denied' },
  { step: 'RCPT', text: '553 5.1.3 Invalid recipient address syntax' },
  { step: 'DATA', text: '550 5.7.1 Unauthenticated email is not accepted from this domain' },
];

/** The reporting MTA's own verdicts (no remote reply), each in its own MTA's words and status. */
const own: Record<string, (Said & { status: string })[]> = {
  exim: [
    { status: '5.4.7', text: 'retry timeout exceeded' },
    { status: '5.4.4', text: 'all relevant MX records point to non-existent hosts' },
    { status: '5.1.2', text: 'Unrouteable address' },
    { status: '5.2.2', text: 'mailbox is full: retry timeout exceeded' },
  ],
  sendmail: [
    { status: '4.4.7', text: `Deferred: Connection timed out with ${HOST}.\nMessage could not be delivered for 5 days` },
    { status: '5.1.2', text: 'Host unknown (Name server: example.com: host not found)' },
    { status: '5.1.1', text: `<${RCPT}>... User unknown` },
  ],
  qmail: [
    { status: '5.1.1', text: 'Sorry, no mailbox here by that name. (#5.1.1)' },
    { status: '5.1.2', text: "Sorry, I couldn't find any host named example.com. (#5.1.2)" },
    { status: '5.4.6', text: 'This message is looping: it already has my Delivered-To line. (#5.4.6)' },
    {
      status: '4.4.1',
      text: "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)\nI'm not going to try again; this message has been in the queue too long.",
    },
  ],
};

/** Recipients of the notices with several: each its own failure, in the order of the list. */
const MANY = ['ann@example.com', 'bob@example.net', 'cid@example.org'];
/** For each notice with several recipients, the single notices whose failures it holds, in order. */
const many: Record<string, string[]> = {};
const single = (name: string, i: number) => `${name}-${String(i + 1).padStart(2, '0')}.eml`;
for (const [name, make] of Object.entries(TEMPLATES)) {
  const all = [...remote, ...(own[name] ?? [])];
  all.forEach((s, i) => {
    writeFileSync(`${DIR}/${single(name, i)}`, `${make([{ rcpt: RCPT, s }])}\n`);
  });
  // Three recipients at once, with the failures of a rotating window of the list: what one
  // recipient said must not leak onto the next. Only failures that are one recipient's (at RCPT
  // TO, after DATA, or the MTA's own): one at connection, EHLO or MAIL FROM ends the whole session.
  const perRecipient = all.filter((s) => !s.step || s.step === 'RCPT' || s.step === 'DATA');
  for (let k = 0; k < 4; k++) {
    const picked = MANY.map((_, j) => perRecipient[(k * 7 + j * 3) % perRecipient.length]);
    const fs = MANY.map((rcpt, j) => ({
      rcpt,
      // A reply names the address it refuses: this recipient's, not the single notices' one.
      s: { ...picked[j], text: picked[j].text.replaceAll(RCPT, rcpt) },
    }));
    const file = `${name}-many-${k + 1}.eml`;
    writeFileSync(`${DIR}/${file}`, `${make(fs)}\n`);
    many[file] = picked.map((p) => single(name, all.indexOf(p)));
  }
}
writeFileSync(`${DIR}/many.json`, `${JSON.stringify(many, null, 2)}\n`);
