/**
 * Writes the multi-MTA part of the second corpus: one recipient each, a remote server's reply (or
 * the reporting MTA's own verdict) put in the bounce templates of five MTAs as they document or
 * ship them: Exim's default bounce (src/exim/src/deliver.c and its exim.conf "bounce_message"
 * wording, with X-Failed-Recipients), Sendmail's DSN (sendmail/savemail.c: "The original message
 * was received at", "----- The following addresses had permanent fatal errors -----", the session
 * transcript and an RFC 3464 report), qmail-send's notice (qmail-send.c: "Hi. This is the
 * qmail-send program at"), OpenSMTPD's (smtpd/bounce.c: "This is the MAILER-DAEMON, please DO NOT
 * REPLY") and Courier's (courier/module.dsn: "UNDELIVERABLE MAIL"). The replies are the ones the
 * providers and MTAs document (Gmail's and Yahoo's SMTP error pages, Postfix's and Exim's
 * manuals, RFC 5321/3463 texts); hosts are example names so that no provider-specific rule of the
 * labeller applies. `npx tsx test/corpus/bounces/synth/mtas.ts`, then label.pl.
 */
import { writeFileSync } from 'node:fs';

const DIR = import.meta.dirname;
const RCPT = 'bob@example.com';
const HOST = 'mx.example.com';
const IP = '192.0.2.1';

type Step = 'CONNECT' | 'HELO' | 'MAIL' | 'RCPT' | 'DATA';
/** A remote reply at an SMTP step, or (no step) the reporting MTA's own verdict. */
interface Said {
  step?: Step;
  text: string;
}

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

/** One failed recipient of a notice and what was said about it. */
interface Failed {
  rcpt: string;
  s: Said & { status?: string };
}

const code = (s: string) => /^\d{3}[ -](\d\.\d{1,3}\.\d{1,3})\b/.exec(s)?.[1];
const statusOf = (s: Said & { status?: string }) =>
  s.status ?? code(s.text) ?? `${/^\d/.test(s.text) ? s.text[0] : '5'}.0.0`;
const reply = (s: Said) => s.text.replace(/^(\d{3})-/, '$1 ');

const headers = (from: string, subject: string, extra: string[] = []) => [
  `From: ${from}`,
  'To: sender@example.org',
  `Subject: ${subject}`,
  'Date: Fri, 04 Dec 2026 19:00:00 +0000',
  'Message-Id: <20261204190000.DEF@mx.example.net>',
  ...extra,
];
const original = ['From: sender@example.org', `To: ${RCPT}`, 'Subject: test', '', 'test'];

/** RFC 3464's report part, as Sendmail writes it: one block per recipient. */
const report = (fs: Failed[]) => [
  'Reporting-MTA: dns; mx.example.net',
  ...fs.flatMap(({ rcpt, s }) => [
    '',
    `Final-Recipient: RFC822; ${rcpt}`,
    'Action: failed',
    `Status: ${statusOf(s)}`,
    ...(s.step ? [`Remote-MTA: DNS; ${HOST}`, `Diagnostic-Code: SMTP; ${reply(s)}`] : []),
  ]),
];

/** The parts of a multipart/report after its headers: the text, RFC 3464's report, the message. */
const reportParts = (b: string, textPart: string[], fs: Failed[]) => [
  '',
  `--${b}`,
  ...textPart,
  '',
  `--${b}`,
  'Content-Type: message/delivery-status',
  '',
  ...report(fs),
  '',
  `--${b}`,
  'Content-Type: message/rfc822',
  '',
  ...original,
  '',
  `--${b}--`,
  '',
];

const EXIM_AFTER = (rcpt: string): Record<Step, string> => ({
  CONNECT: 'SMTP error from remote mail server after initial connection:',
  HELO: 'SMTP error from remote mail server after EHLO mx.example.net:',
  MAIL: 'SMTP error from remote mail server after MAIL FROM:<sender@example.org> SIZE=1234:',
  RCPT: `SMTP error from remote mail server after RCPT TO:<${rcpt}>:`,
  DATA: 'SMTP error from remote mail server after end of data:',
});

function exim(fs: Failed[]): string {
  const why = ({ rcpt, s }: Failed) =>
    s.step ? [`    host ${HOST} [${IP}]`, `    ${EXIM_AFTER(rcpt)[s.step]}`, `    ${s.text}`] : [`    ${s.text}`];
  return [
    ...headers('Mail Delivery System <Mailer-Daemon@mx.example.net>', 'Mail delivery failed: returning message to sender', [
      `X-Failed-Recipients: ${fs.map((f) => f.rcpt).join(',\n  ')}`,
      'Auto-Submitted: auto-replied',
    ]),
    '',
    'This message was created automatically by mail delivery software.',
    '',
    'A message that you sent could not be delivered to one or more of its',
    'recipients. This is a permanent error. The following address(es) failed:',
    '',
    ...fs.flatMap((f) => [`  ${f.rcpt}`, ...why(f), '']),
    '------ This is a copy of the message, including all the headers. ------',
    '',
    ...original,
  ].join('\n');
}

const SENDMAIL_SENT = (rcpt: string): Record<Step, string> => ({
  CONNECT: '',
  HELO: '>>> EHLO mx.example.net',
  MAIL: '>>> MAIL From:<sender@example.org> SIZE=1234',
  RCPT: `>>> RCPT To:<${rcpt}>`,
  DATA: '>>> DATA',
});

function sendmail(fs: Failed[]): string {
  const b = 'B1234.5678/mx.example.net';
  const transcript = ({ rcpt, s }: Failed) => {
    const sent = s.step ? SENDMAIL_SENT(rcpt)[s.step] : '';
    return s.step ? [`... while talking to ${HOST}.:`, ...(sent ? [sent] : []), `<<< ${s.text}`] : [`... ${s.text}`];
  };
  return [
    ...headers('Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>', 'Returned mail: see transcript for details', [
      'Auto-Submitted: auto-generated (failure)',
      'MIME-Version: 1.0',
      `Content-Type: multipart/report; report-type=delivery-status; boundary="${b}"`,
    ]),
    '',
    'This is a MIME-encapsulated message',
    ...reportParts(
      b,
      [
        '',
        'The original message was received at Fri, 4 Dec 2026 18:59:58 GMT',
        'from localhost [127.0.0.1]',
        '',
        '   ----- The following addresses had permanent fatal errors -----',
        ...fs.flatMap(({ rcpt, s }) => [`<${rcpt}>`, `    (reason: ${s.step ? reply(s) : s.text.split('\n')[0]})`]),
        '',
        '   ----- Transcript of session follows -----',
        ...fs.flatMap(transcript),
      ],
      fs,
    ),
  ].join('\n');
}

function qmail(fs: Failed[]): string {
  const why = ({ s }: Failed) => {
  // qmail-remote.c's wording per step; a temporary reply ends, once the queue lifetime is over,
  // with qmail-send's "in the queue too long" instead of "Giving up on".
  const end = /^4/.test(s.text)
    ? "I'm not going to try again; this message has been in the queue too long."
    : `Giving up on ${IP}.`;
  return s.step === 'MAIL'
      ? [`Connected to ${IP} but sender was rejected.`, `Remote host said: ${s.text}`, end]
      : s.step === 'CONNECT' || s.step === 'HELO'
        ? [`Connected to ${IP} but greeting failed.`, `Remote host said: ${s.text}`, end]
        : s.step === 'DATA'
          ? [`${IP} failed after I sent the message.`, `Remote host said: ${s.text}`, end]
          : s.step
            ? [`${IP} does not like recipient.`, `Remote host said: ${s.text}`, end]
            : [s.text];
  };
  return [
    ...headers('MAILER-DAEMON@mx.example.net', 'failure notice'),
    '',
    'Hi. This is the qmail-send program at mx.example.net.',
    "I'm afraid I wasn't able to deliver your message to the following addresses.",
    "This is a permanent error; I've given up. Sorry it didn't work out.",
    '',
    ...fs.flatMap((f) => [`<${f.rcpt}>:`, ...why(f), '']),
    '--- Below this line is a copy of the message.',
    '',
    ...original,
  ].join('\n');
}

function opensmtpd(fs: Failed[]): string {
  return [
    ...headers('Mailer Daemon <MAILER-DAEMON@mx.example.net>', 'Delivery status notification: error'),
    '',
    'Hi!',
    '',
    'This is the MAILER-DAEMON, please DO NOT REPLY to this email.',
    '',
    'An error has occurred while attempting to deliver a message for',
    'the following list of recipients:',
    '',
    ...fs.map(({ rcpt, s }) => `${rcpt}: ${s.text}`),
    '',
    'Below is a copy of the original message:',
    '',
    ...original,
  ].join('\n');
}

const COURIER_SENT = (rcpt: string): Record<Step, string> => ({
  CONNECT: '',
  HELO: '>>> EHLO mx.example.net',
  MAIL: '>>> MAIL FROM:<sender@example.org>',
  RCPT: `>>> RCPT TO:<${rcpt}>`,
  DATA: '>>> DATA',
});

function courier(fs: Failed[]): string {
  // courier/module.dsn: a multipart/report whose text part is dsn*.txt, then the RFC 3464 part.
  const b = '=_courier-1234';
  const why = ({ rcpt, s }: Failed) => {
    const sent = s.step ? COURIER_SENT(rcpt)[s.step] : '';
    return s.step ? [`    ${HOST} [${IP}]:`, ...(sent ? [sent] : []), `<<< ${s.text}`] : [`    ${s.text}`];
  };
  return [
    ...headers('"Courier mail server at mx.example.net" <@>', 'NOTICE: mail delivery status.', [
      'MIME-Version: 1.0',
      `Content-Type: multipart/report; report-type=delivery-status; boundary="${b}"`,
    ]),
    ...reportParts(
      b,
      [
        'Content-Type: text/plain; charset=us-ascii',
        '',
        'This is a delivery status notification from mx.example.net,',
        'running the Courier mail server, version 1.1.',
        '',
        'The original message was received on Fri, 04 Dec 2026 18:59:58 +0000',
        'from localhost [127.0.0.1]',
        '',
        '---------------------------------------------------------------------------',
        '',
        '                           UNDELIVERABLE MAIL',
        '',
        'Your message to the following recipients cannot be delivered:',
        '',
        ...fs.flatMap((f) => [`<${f.rcpt}>:`, ...why(f), '']),
        '---------------------------------------------------------------------------',
      ],
      fs,
    ),
  ].join('\n');
}

const TEMPLATES = { exim, sendmail, qmail, opensmtpd, courier };
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
