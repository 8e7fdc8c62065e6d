/**
 * The bounce templates of the second and fifth corpora: a failed recipient and what was said about
 * it, put in the notice of an MTA as it documents or ships it: Exim's default bounce
 * (src/exim/src/deliver.c and its exim.conf "bounce_message" wording, with X-Failed-Recipients),
 * Sendmail's DSN (sendmail/savemail.c: "The original message was received at", "----- The
 * following addresses had permanent fatal errors -----", the session transcript and an RFC 3464
 * report), qmail-send's notice (qmail-send.c: "Hi. This is the qmail-send program at"),
 * OpenSMTPD's (smtpd/bounce.c: "This is the MAILER-DAEMON, please DO NOT REPLY") and Courier's
 * (courier/module.dsn: "UNDELIVERABLE MAIL"). Hosts are example names so that no
 * provider-specific rule of the labeller applies.
 */

export const RCPT = 'bob@example.com';
export const HOST = 'mx.example.com';
export const IP = '192.0.2.1';

export type Step = 'CONNECT' | 'HELO' | 'MAIL' | 'RCPT' | 'DATA';
/** A remote reply at an SMTP step, or (no step) the reporting MTA's own verdict. */
export interface Said {
  step?: Step;
  text: string;
}

/** One failed recipient of a notice and what was said about it. */
export interface Failed {
  rcpt: string;
  s: Said & { status?: string };
}

const code = (s: string) => /^\d{3}[ -](\d\.\d{1,3}\.\d{1,3})\b/.exec(s)?.[1];
export const statusOf = (s: Said & { status?: string }) =>
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
export const original = ['From: sender@example.org', `To: ${RCPT}`, 'Subject: test', '', 'test'];

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

export const TEMPLATES = { exim, sendmail, qmail, opensmtpd, courier };

/**
 * Postfix's DSN for one recipient: its bounce template (src/bounce/bounce_template.c, the default
 * failure template "This is the mail system at host ... I'm sorry to have to inform you ...") and
 * its RFC 3464 report. `why` is what follows the recipient on its line ("host x said: ... (in reply
 * to RCPT TO command)"), `reply` the Diagnostic-Code, `status` the Status field.
 */
export function postfixDsn(why: string, reply: string, status: string, id: string): string {
  return [
    'From: Mail Delivery System <MAILER-DAEMON@mx.example.net>',
    'To: sender@example.org',
    'Subject: Undelivered Mail Returned to Sender',
    'Date: Fri, 04 Dec 2026 19:00:00 +0000',
    `Message-Id: <20261204190000.${id}@mx.example.net>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="ABC.1/mx.example.net"',
    '',
    'This is a MIME-encapsulated message.',
    '',
    '--ABC.1/mx.example.net',
    'Content-Description: Notification',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'This is the mail system at host mx.example.net.',
    '',
    "I'm sorry to have to inform you that your message could not",
    "be delivered to one or more recipients. It's attached below.",
    '',
    '                   The mail system',
    '',
    `<bob@example.com>: ${why}`,
    '',
    '--ABC.1/mx.example.net',
    'Content-Description: Delivery report',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.example.net',
    'Arrival-Date: Fri,  4 Dec 2026 18:59:58 +0000 (UTC)',
    '',
    'Final-Recipient: rfc822; bob@example.com',
    'Original-Recipient: rfc822;bob@example.com',
    'Action: failed',
    `Status: ${status}`,
    'Remote-MTA: dns; mx.example.com',
    `Diagnostic-Code: smtp; ${reply}`,
    '',
    '--ABC.1/mx.example.net',
    'Content-Description: Undelivered Message',
    'Content-Type: message/rfc822',
    '',
    'From: sender@example.org',
    'To: bob@example.com',
    'Subject: test',
    '',
    'test',
    '',
    '--ABC.1/mx.example.net--',
    '',
  ].join('\n');
}
