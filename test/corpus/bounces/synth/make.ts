/**
 * Writes the synthesised Postfix bounces of the second corpus: one recipient each, the remote
 * reply after Postfix's bounce template (src/bounce/bounce_template.c, the default failure
 * template "This is the mail system at host ... I'm sorry to have to inform you ...") and its
 * RFC 3464 report (the status is the reply's enhanced code, else X.0.0).
 * `npx tsx test/corpus/bounces/synth/make.ts`, then label.pl to relabel them.
 */
import { writeFileSync } from 'node:fs';

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
  const text = [
    'From: Mail Delivery System <MAILER-DAEMON@mx.example.net>',
    'To: sender@example.org',
    'Subject: Undelivered Mail Returned to Sender',
    'Date: Fri, 04 Dec 2026 19:00:00 +0000',
    `Message-Id: <20261204190000.ABC${i}@mx.example.net>`,
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
    `<bob@example.com>: host mx.example.com[192.0.2.1] said: ${s}`,
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
  writeFileSync(`${DIR}/postfix-${String(i + 1).padStart(2, '0')}.eml`, text);
});
