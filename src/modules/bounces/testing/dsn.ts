/**
 * A delivery status notification (RFC 3464: multipart/report with a human-readable part and a
 * message/delivery-status part) built from its two parts, for tests of the classifier's rules.
 */
export function dsnMessage(opts: { subject: string; text: string[]; recipientFields: string[] }): string {
  return [
    'From: Mail Delivery System <MAILER-DAEMON@mx.example.net>',
    'To: sender@example.org',
    `Subject: ${opts.subject}`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain',
    '',
    ...opts.text,
    '',
    '--b',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.example.net',
    '',
    ...opts.recipientFields,
    '',
    '--b--',
    '',
  ].join('\n');
}

/**
 * A DSN for bob@example.com alone: the reply (`said`) in the text, unless `text` is given, and in
 * a Diagnostic-Code of `type` (smtp unless told), under `status` and `action` (failed unless
 * told), then any further recipient `fields` (Remote-MTA, X-PowerMTA-BounceCategory...).
 */
export function recipientDsn(opts: {
  status: string;
  said: string;
  action?: string;
  type?: string;
  subject?: string;
  text?: string[];
  fields?: string[];
}): string {
  return dsnMessage({
    subject: opts.subject ?? 'Delivery Status Notification (Failure)',
    text: opts.text ?? [`<bob@example.com>: ${opts.said}`],
    recipientFields: [
      'Final-Recipient: rfc822; bob@example.com',
      `Action: ${opts.action ?? 'failed'}`,
      `Status: ${opts.status}`,
      `Diagnostic-Code: ${opts.type ?? 'smtp'}; ${opts.said}`,
      ...(opts.fields ?? []),
    ],
  });
}

/**
 * Lotus Domino's report for bob@example.com: its router's words (`said`) in the subject after
 * "DELIVERY FAILURE:", in the text, and in an X-Notes Diagnostic-Code under `status`.
 */
export function dominoFailure(status: string, said: string): string {
  return recipientDsn({ subject: `DELIVERY FAILURE: ${said}`, text: [said], status, said, type: 'X-Notes' });
}

/** A plain-text notice (no MIME report) from a mail system: its subject and body lines. */
export function plainNotice(
  subject: string,
  body: string[],
  from = 'Mail Delivery System <MAILER-DAEMON@mx.example.net>',
): string {
  return [`From: ${from}`, 'To: sender@example.org', `Subject: ${subject}`, '', ...body, ''].join('\n');
}

/** Postfix's plain notice for bob@example.com, `said` being what follows "host x said:". */
export function postfixNotice(said: string): string {
  return postfixVerdict(`host mx.example.com[192.0.2.1] said: ${said}`);
}

/**
 * Postfix's plain notice for bob@example.com, `verdict` being what follows "<bob@example.com>: "
 * (its own words, "connect to x: Connection timed out", or a host's reply, as postfixNotice).
 */
export function postfixVerdict(verdict: string): string {
  return plainNotice('Undelivered Mail Returned to Sender', [
    'This is the mail system at host mx.example.net.',
    '',
    `<bob@example.com>: ${verdict}`,
  ]);
}
