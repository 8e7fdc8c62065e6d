/**
 * The sixth corpus's notices: five formats of reporting MTAs and providers that dev/ holds no
 * message of, written from what is public of their structure (the markers each uses, where it puts
 * the recipient and the reply), for one failed recipient and one reply of ../replies/replies.ts:
 * - Microsoft 365 (Exchange Online) text NDR: "Delivery has failed to these recipients or
 *   groups:", the recipient as `x<mailto:x>`, "Diagnostic information for administrators:",
 *   "Remote Server returned '<reply>'" (Exchange Online's documented NDR layout);
 * - Trend Micro InterScan MSS: "Mail could not be delivered", the session as `Sent <<< command`
 *   and `Received >>> reply` (its arrows are the reverse of Sendmail's);
 * - a qmail clone (X4): another greeting than qmail-send's, qmail-remote.c's step wording
 *   ("does not like recipient.", "but sender was rejected.", "failed after I sent the message.");
 * - Google Workspace: "** Message not delivered **", the reply after "The response from the
 *   remote server was:", and an RFC 3464 report whose Diagnostic-Code holds the reply code alone;
 * - Symantec.cloud (MessageLabs): "Mail Delivery Failure", an X-Msg-Ref header, RFC 3464 and
 *   the original's headers alone (text/rfc822-headers).
 * Hosts are example names. A format that cannot show a step (InterScan names the recipient only
 * in its RCPT TO line) returns null for it.
 */
import type { Reply, Step } from '../replies/replies.js';
import { IP, original, RCPT, statusOf } from '../synth/templates.js';

const headers = (from: string, subject: string, extra: string[]) => [
  `From: ${from}`,
  'To: sender@example.org',
  `Subject: ${subject}`,
  'Date: Mon, 07 Dec 2026 15:00:00 +0000',
  ...extra,
];

/** A multipart/report: a text part, RFC 3464's report for one recipient, the original. */
function report(b: string, text: string[], fields: string[], originalType = 'message/rfc822') {
  return [
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${b}"`,
    '',
    `--${b}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    ...text,
    '',
    `--${b}`,
    'Content-Type: message/delivery-status',
    '',
    ...fields,
    '',
    `--${b}`,
    `Content-Type: ${originalType}`,
    '',
    ...original,
    '',
    `--${b}--`,
    '',
  ];
}

function office365({ text }: Reply): string {
  return [
    ...headers('Microsoft Outlook <postmaster@contoso.onmicrosoft.com>', 'Undeliverable: test', [
      'Message-ID: <0a1b2c3d-0000-4000-8000-000000000001@AM0PR01MB1234.eurprd01.prod.outlook.com>',
      'X-MS-Exchange-Message-Is-Ndr:',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii',
    ]),
    '',
    'Delivery has failed to these recipients or groups:',
    '',
    `${RCPT}<mailto:${RCPT}>`,
    'A problem occurred while delivering this message to this email address. Try sending this message again. If the problem continues, please contact your helpdesk.',
    '',
    'Diagnostic information for administrators:',
    '',
    'Generating server: AM0PR01MB1234.eurprd01.prod.outlook.com',
    '',
    RCPT,
    'mx.example.com',
    `Remote Server returned '${text}'`,
    '',
    'Original message headers:',
    '',
    ...original.slice(0, 3),
  ].join('\n');
}

function interscan({ step, text }: Reply): string | null {
  if (step !== 'RCPT') return null;
  return [
    ...headers('"InterScan MSS" <postmaster@mx.example.net>', 'Mail could not be delivered', [
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii',
    ]),
    '',
    'This message is created automatically by mail delivery software.',
    '',
    'Unable to deliver message to the following recipient(s):',
    '',
    `Sent <<< RCPT TO:<${RCPT}>`,
    `Received >>> ${text}`,
    '',
    'Content-type: message/rfc822',
    '',
    ...original,
  ].join('\n');
}

/** qmail-remote.c's words for the step it failed at. */
const QMAIL_STEP: Record<Step, string> = {
  CONNECT: `Connected to ${IP} but greeting failed.`,
  HELO: `Connected to ${IP} but my name was rejected.`,
  MAIL: `Connected to ${IP} but sender was rejected.`,
  RCPT: `${IP} does not like recipient.`,
  DATA: `${IP} failed after I sent the message.`,
};

function x4({ step, text }: Reply): string {
  return [
    ...headers('MAILER-DAEMON@mx.example.net', 'failure notice', [
      'Received: (qmail 12345 invoked for bounce); 7 Dec 2026 15:00:00 -0000',
    ]),
    '',
    'Hi. This is the mail delivery agent at mx.example.net.',
    'Unfortunately, your mail was not delivered to the following address:',
    '',
    `<${RCPT}>:`,
    QMAIL_STEP[step],
    `Remote host said: ${text}`,
    /^4/.test(text) ? "I'm not going to try again; this message has been in the queue too long." : `Giving up on ${IP}.`,
    '',
    '--- Below this line is a copy of the message.',
    '',
    ...original,
  ].join('\n');
}

function gsuite({ text }: Reply): string {
  return [
    ...headers('Mail Delivery Subsystem <mailer-daemon@googlemail.com>', 'Delivery Status Notification (Failure)', [
      'X-Gm-Message-State: AOJu0YwExampleExampleExample',
    ]),
    ...report(
      'GSUITE.0001',
      [
        '** Message not delivered **',
        '',
        `There was a problem delivering your message to ${RCPT}. See the technical details below.`,
        '',
        'The response from the remote server was:',
        text,
      ],
      [
        'Reporting-MTA: dns; googlemail.com',
        '',
        `Final-Recipient: rfc822; ${RCPT}`,
        'Action: failed',
        `Status: ${text[0]}.0.0`,
        'Remote-MTA: dns; mx.example.com. (192.0.2.1, the server for the domain example.com.)',
        `Diagnostic-Code: smtp; ${text.slice(0, 3)}`,
      ],
    ),
  ].join('\n');
}

function messagelabs({ text }: Reply): string {
  return [
    ...headers('MAILER-DAEMON@messagelabs.com', 'Mail Delivery Failure', [
      'X-Msg-Ref: server-1.tower-1.messagelabs.com!1765119600!12345!1',
      'X-StarScan-Version: 9.0.1; banners=-,-,-',
    ]),
    ...report(
      'ML.0001',
      ['Your message could not be delivered to the following recipient:', '', `  ${RCPT}`],
      [
        'Reporting-MTA: dns; server-1.tower-1.messagelabs.com',
        '',
        `Final-Recipient: rfc822; ${RCPT}`,
        'Action: failed',
        `Status: ${statusOf({ text })}`,
        `Diagnostic-Code: smtp; ${text}`,
      ],
      'text/rfc822-headers',
    ),
  ].join('\n');
}

export const FORMATS: Record<string, (r: Reply) => string | null> = {
  office365,
  interscan,
  x4,
  gsuite,
  messagelabs,
};
