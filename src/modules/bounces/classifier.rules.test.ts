import { describe, expect, it } from 'vitest';
import { classifyBounce } from './classifier/classify.js';
import { dsnMessage, postfixNotice } from './testing/dsn.js';

/**
 * Rules added for issue 17 (4), each from a source, on synthesised Postfix-style bounces: an
 * unknown host or domain that is the sender's side is not the recipient's hostunknown.
 */
const bounce = postfixNotice;

describe("an unknown host or domain on the sender's side", () => {
  it.each([
    // Postfix reject_unknown_sender_domain (postconf(5)), without its 4.1.8 status.
    ['450 <sender@example.org>: Sender address rejected: Domain not found', 'rejected'],
    ['550 Sender domain example.org not found', 'rejected'],
    // Postfix reject_unknown_helo_hostname (postconf(5)), without its status, and the other
    // smtpd_helo_restrictions, even with a syntax-class status.
    ['450 <mx.example.net>: Helo command rejected: Host not found', 'blocked'],
    ['504 5.5.2 <mx>: Helo command rejected: need fully-qualified hostname', 'blocked'],
    ['550 Your host name mx.example.net not found', 'blocked'],
  ])('reads "%s" as %s, not hostunknown', async (said, reason) => {
    const [r] = await classifyBounce(bounce(said));
    expect(r).toMatchObject({ recipient: 'bob@example.com', reason, hard: false });
  });

  it("still reads the recipient's unknown domain as hostunknown", async () => {
    for (const said of [
      '550 5.1.2 <bob@example.com>: Recipient address rejected: Domain not found (in reply to RCPT TO command)',
      '550 Host unknown',
    ]) {
      const [r] = await classifyBounce(bounce(said));
      expect(r).toMatchObject({ reason: 'hostunknown', hard: true });
    }
  });
});

/** qmail-send's notice (qmail-send.c, qmail-remote.c), one recipient. */
const qmail = (lines: string) =>
  [
    'From: MAILER-DAEMON@mx.example.net',
    'To: sender@example.org',
    'Subject: failure notice',
    '',
    'Hi. This is the qmail-send program at mx.example.net.',
    "I'm afraid I wasn't able to deliver your message to the following addresses.",
    "This is a permanent error; I've given up. Sorry it didn't work out.",
    '',
    '<bob@example.com>:',
    lines,
    '',
    '--- Below this line is a copy of the message.',
    '',
  ].join('\n');
const GAVE_UP = "I'm not going to try again; this message has been in the queue too long.";

describe("qmail's queue lifetime sentence", () => {
  it.each([
    // The last error qmail-remote reported names the reason; the sentence only ends it.
    [`Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n${GAVE_UP}`, 'networkerror'],
    [`Unable to contact LDAP server. (#4.4.3)${GAVE_UP}`, 'systemerror'],
    // Nothing else said: the delivery expired.
    [`192.0.2.1 does not like recipient.\nRemote host said: 450 try later\n${GAVE_UP}`, 'expired'],
  ])('in a qmail notice, reads "%s" as %s', async (lines, reason) => {
    const [r] = await classifyBounce(qmail(lines));
    expect(r).toMatchObject({ recipient: 'bob@example.com', reason });
  });

  it('means expiry in the notice of another MTA that copied it', async () => {
    const other = qmail(
      `unable to connect to remote server [192.0.2.1:25]: Operation timed out\n${GAVE_UP}`,
    ).replace('Hi. This is the qmail-send program at mx.example.net.', 'Message from mx.example.net.');
    const [r] = await classifyBounce(other);
    expect(r).toMatchObject({ recipient: 'bob@example.com', reason: 'expired' });
  });
});

it("reads Exim's MX records that point to non-existent hosts as hostunknown, not notaccept", async () => {
  const [r] = await classifyBounce(
    [
      'From: Mail Delivery System <Mailer-Daemon@mx.example.net>',
      'To: sender@example.org',
      'Subject: Mail delivery failed: returning message to sender',
      'X-Failed-Recipients: bob@example.com',
      '',
      'This message was created automatically by mail delivery software.',
      '',
      'A message that you sent could not be delivered to one or more of its',
      'recipients. This is a permanent error. The following address(es) failed:',
      '',
      '  bob@example.com',
      '    all relevant MX records point to non-existent hosts',
      '',
    ].join('\n'),
  );
  expect(r).toMatchObject({ recipient: 'bob@example.com', reason: 'hostunknown', hard: true });
});

describe('an unknown user with no status and no SMTP step (rules from the third corpus)', () => {
  const notice = (from: string, lines: string[]) =>
    [`From: ${from}`, 'To: sender@example.org', 'Subject: Undeliverable Mail', '', ...lines, ''].join('\n');

  it("is filtered when it is a remote reply quoted in free text, as Sisimai's order reads it", async () => {
    const [r] = await classifyBounce(
      notice('MAILER-DAEMON@mx.example.net', [
        'Unable to deliver message to the following address(es).',
        '',
        "<bob@example.com>: This user doesn't have a example.com account (bob@example.com) [0]",
      ]),
    );
    expect(r).toMatchObject({ recipient: 'bob@example.com', reason: 'filtered', hard: false });
  });

  it("is userunknown in the words of a server that looked up its own mailboxes (IMail, Exchange's IMS)", async () => {
    for (const line of ['Unknown user: bob@example.com', 'Invalid final delivery userid: bob@example.com']) {
      const [r] = await classifyBounce(notice('Postmaster <postmaster@example.com>', [line]));
      expect(r).toMatchObject({ recipient: 'bob@example.com', reason: 'userunknown', hard: true });
    }
  });
});

it("takes the failed recipient from an Exchange NDR, not the returned message's To: nor the X.400 prefix", async () => {
  const results = await classifyBounce(
    [
      'From: System Administrator <postmaster@example.com>',
      'To: list-bounces@example.org',
      'Subject: Undeliverable: news',
      '',
      'Your message',
      '',
      '  To:      list@example.org',
      '  Subject: news',
      '',
      'did not reach the following recipient(s):',
      '',
      'c=US;a= ;p=ACME;o=Nexus2;dda:SMTP=bob@example.COM; on Fri, 4 Oct 2002',
      '    The recipient name is not recognized',
      '',
    ].join('\n'),
  );
  expect(results).toEqual([expect.objectContaining({ recipient: 'bob@example.com', reason: 'userunknown' })]);
});

it("names a DSN's recipient by its Original-Recipient, the address the sender gave (RFC 3464)", async () => {
  const [r] = await classifyBounce(
    dsnMessage({
      subject: 'Delivery Notification: Delivery has failed',
      text: ["Your message cannot be delivered to the following recipients: 'bob@example.com'"],
      recipientFields: [
        'Action: failed',
        'Status: 5.2.2 (recipient reached disk quota)',
        'Original-recipient: rfc822;bob@example.com',
        'Final-recipient: rfc822;bob@ims-ms-daemon',
      ],
    }),
  );
  expect(r).toMatchObject({ recipient: 'bob@example.com', reason: 'mailboxfull' });
});

describe('wordings of the third corpus, in a plain notice', () => {
  const notice = (line: string) =>
    [
      'From: MAILER-DAEMON@mx.example.net',
      'To: sender@example.org',
      'Subject: failure notice',
      '',
      'Your message could not be delivered:',
      '',
      `<bob@example.com>: ${line}`,
      '',
    ].join('\n');
  it.each([
    ["This person's account is exceeding their quota.", 'mailboxfull'],
    ['Your message has been postponed due to a full mailbox.', 'mailboxfull'],
    ['Delivery failed 20 attempts', 'expired'],
    ['failed because it has not been collected after 30 days', 'expired'],
    ['554 Message looping (received 6 times)', 'networkerror'],
    [
      'temporary failure. Command output: avpcheck: unable to connect to avp daemon: Connection refused',
      'mailererror',
    ],
    ['User bob (bob@example.com) not listed in Domino Directory', 'userunknown'],
  ])('reads "%s" as %s', async (line, reason) => {
    const [r] = await classifyBounce(notice(line));
    expect(r).toMatchObject({ recipient: 'bob@example.com', reason });
  });

  it("does not read a sender's exceeded sending quota as a full mailbox", async () => {
    const [r] = await classifyBounce(
      notice('550 5.4.5 Daily user sending quota exceeded; you have exceeded your daily sending quota'),
    );
    expect(r?.reason).not.toBe('mailboxfull');
  });
});

describe('evidence a notice places away from the failed address (flufl.bounce corpus, second reading)', () => {
  const message = (subject: string, ...body: string[]) =>
    [
      'From: Postmaster <postmaster@mx.example.net>',
      'To: sender@example.org',
      `Subject: ${subject}`,
      '',
      ...body,
      '',
    ].join('\n');

  it('places the reply IMail quotes at the command it names', async () => {
    const at = (command: string) =>
      message(
        'Undeliverable Mail',
        'Unknown user: bob@example.com',
        `${command} generated following response:`,
        '553 5.3.0 <bob@example.com>... Addressee unknown',
      );
    // At RCPT TO, an unknown addressee is the recipient's; after DATA, a filter (as elsewhere).
    expect((await classifyBounce(at('RCPT TO')))[0]).toMatchObject({ reason: 'userunknown', hard: true });
    expect((await classifyBounce(at('DATA')))[0]).toMatchObject({ reason: 'filtered', hard: false });
  });

  it('gives every listed recipient the reason said once before the list', async () => {
    const rs = await classifyBounce(
      message(
        'Mail System Error - Returned Mail',
        'Your message was not delivered because the destination computer was',
        'not reachable within the allowed queue period.',
        'Your message was not delivered within 2 days.',
        '',
        'The following recipients did not receive your message:',
        '     <bob@example.com>',
        'The following recipients did not receive your message:',
        '     <carol@example.com>',
      ),
    );
    expect(rs.map((r) => [r.recipient, r.reason])).toEqual([
      ['bob@example.com', 'expired'],
      ['carol@example.com', 'expired'],
    ]);
  });

  it("prefers the recipient's own line to the notice's general words, not to a reply it quotes", async () => {
    const smail = await classifyBounce(
      message(
        'mail failed, returning to sender',
        '|------------------------- Message log follows: -------------------------|',
        ' no valid recipients were found for this message',
        '|------------------------- Failed addresses follow: ---------------------|',
        ' bob@example.com ... unknown host',
      ),
    );
    expect(smail[0]).toMatchObject({ recipient: 'bob@example.com', reason: 'hostunknown', hard: true });
    // Sendmail's transcript: the relay refusal the server answered is the evidence.
    const sendmail = await classifyBounce(
      message(
        'Returned mail: Remote protocol error',
        '   ----- Transcript of session follows -----',
        '>>> MAIL From:<sender@example.org>',
        '<<< 550 Insecure Mail Relay',
        '554 <bob@example.com>... Remote protocol error',
      ),
    );
    expect(sendmail[0]).toMatchObject({ recipient: 'bob@example.com', reason: 'norelaying' });
  });

  it('reads a delivery given up after a stated time as expired', async () => {
    const [r] = await classifyBounce(
      message(
        'Delivery status notification',
        'Delivery to the following recipients was aborted after 5.0 hour(s):',
        '  * bob@example.com',
      ),
    );
    expect(r).toMatchObject({ recipient: 'bob@example.com', reason: 'expired', hard: false });
  });
});

describe("wordings from BounceParser's corpus (its first reading: 75.6% / 91.9%)", () => {
  const postfix = (said: string) => bounce(`${said} (in reply to end of DATA command)`);
  it.each([
    ['554 5.7.1 Your message failed several antispam checks (SCORING)', 'spamdetected'],
    ["550 5.7.1 You're using a mass mailer, therefore you're bounced.", 'spamdetected'],
    ['553 5.7.3 CONTENT REJECT:192.168.95.162:dspam check:4', 'spamdetected'],
    ['550 5.7.1 Rejected - bulk email', 'spamdetected'],
    ['550 Message refused by MailMarshal SpamProfiler', 'spamdetected'],
    ['550 Spamming not allowed', 'spamdetected'],
    [
      '553-you are trying to use me [mx.example.com] as a relay, but I have not been configured to let you do this',
      'norelaying',
    ],
    ['550 <bob@example.com> User has too many messages on the server.', 'mailboxfull'],
  ])('reads "%s" as %s', async (said, reason) => {
    const [r] = await classifyBounce(postfix(said));
    expect(r).toMatchObject({ recipient: 'bob@example.com', reason });
  });

  it('leaves a listing of the sending host blocked, whatever spam words it uses', async () => {
    for (const said of [
      '550 5.7.1 Your IP address 192.0.2.9 has been blacklisted for spamming',
      '554 Your IP is listed in our antispam blocklist',
    ]) {
      const [r] = await classifyBounce(postfix(said));
      expect(r?.reason, said).toBe('blocked');
    }
  });

  it('reads a failed MX lookup under a 5.4.4 as a network error, a missing domain still as hostunknown', async () => {
    const sendmail = (line: string) =>
      dsnMessage({
        subject: 'Returned mail: see transcript for details',
        text: ['   ----- The following addresses had permanent fatal errors -----', '<bob@example.com>'],
        recipientFields: [
          'Final-Recipient: RFC822; bob@example.com',
          'Action: failed',
          'Status: 5.4.4',
          `Diagnostic-Code: SMTP; ${line}`,
        ],
      });
    const [lookup] = await classifyBounce(
      sendmail('Name service error for name=example.com type=MX: Malformed or unexpected name server reply'),
    );
    expect(lookup).toMatchObject({ reason: 'networkerror', hard: false });
    const [missing] = await classifyBounce(
      sendmail('Name service error for name=example.com type=A: Host not found'),
    );
    expect(missing).toMatchObject({ reason: 'hostunknown', hard: true });
  });
});

describe('a recipient the reply names as not existing', () => {
  it('reads "Rcpt <x> does not exist" at RCPT TO as the hard userunknown (it was onhold)', async () => {
    const [r] = await classifyBounce(
      bounce('554 Rcpt <bob@example.com> does not exist (in reply to RCPT TO command)'),
    );
    expect(r).toMatchObject({ reason: 'userunknown', hard: true });
  });
});
