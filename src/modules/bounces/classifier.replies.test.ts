import { describe, expect, it } from 'vitest';
import { classifyBounce } from './classifier/classify.js';
import { postfixNotice } from './testing/dsn.js';

/**
 * Rules from providers' and MTAs' references of their replies (the fifth corpus,
 * test/corpus/bounces/replies/), each on a Postfix-style notice at the step the reply belongs to.
 * Each case failed before its rule: the reason the reply's publisher gives it, or Sisimai's
 * definition of the reason (reasons.json) where the publisher only explains it.
 */
const STEP = { RCPT: 'RCPT TO', MAIL: 'MAIL FROM', DATA: 'end of DATA' } as const;
const bounce = (said: string, step: keyof typeof STEP) =>
  postfixNotice(`${said} (in reply to ${STEP[step]} command)`);

describe('replies as their publishers document them', () => {
  it.each([
    // Comcast: the address is none of its subscribers'.
    ['550 5.1.1 Not our Customer', 'RCPT', 'userunknown'],
    // RFC 5321 (3.4): 551 names the forward path.
    ['551 User not local; please try <bob@example.org>', 'RCPT', 'hasmoved'],
    // RFC 3463: X.1.0 does not say whose address; the wording names the sender.
    ['550 5.1.0 Sender rejected', 'RCPT', 'rejected'],
    // Exchange Online's NDR reference: the sending host is refused (5.7.708, 5.7.511, 5.7.501).
    ['550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP.', 'MAIL', 'blocked'],
    [
      '550 5.7.511 Access denied, banned sender[192.0.2.9]. To request removal forward this message.',
      'MAIL',
      'blocked',
    ],
    ['550 5.7.501 Service unavailable. Spam abuse detected from IP range.', 'MAIL', 'blocked'],
    // ... an unauthenticated client (5.7.57), not the sender's address.
    [
      '530 5.7.57 Client was not authenticated to send anonymous mail during MAIL FROM',
      'MAIL',
      'securityerror',
    ],
    // Gmail's reference: the IP's rate of spam (4.7.28), a host that should use its provider's
    // relay, a recipient receiving mail too quickly (4.2.1).
    [
      '421 4.7.28 Our system has detected an unusual rate of unsolicited mail originating from your IP address. Mail sent from your IP address has been temporarily rate limited.',
      'MAIL',
      'blocked',
    ],
    [
      "550 5.7.1 The IP you're using to send mail is not authorized to send email directly to our servers.",
      'MAIL',
      'blocked',
    ],
    ['450 4.2.1 The user you are trying to contact is receiving mail too quickly.', 'RCPT', 'speeding'],
    // Amazon SES's SMTP responses: its sender's rate and daily allowance, an unverified identity.
    ['454 Throttling failure: Maximum sending rate exceeded.', 'MAIL', 'speeding'],
    ['454 Throttling failure: Daily message quota exceeded.', 'MAIL', 'speeding'],
    ['554 Message rejected: Email address is not verified.', 'DATA', 'rejected'],
    // RFC 5321's generic 554 text names no reason (Sisimai 5.3 leaves it onhold too); SES's
    // "Missing final '@domain'" says no more of which address.
    ["554 Transaction failed: Missing final '@domain'", 'DATA', 'onhold'],
    // Mimecast's rejection reference.
    [
      '554 Email rejected due to security policies - https://community.mimecast.com/',
      'DATA',
      'policyviolation',
    ],
  ] as const)('reads "%s" (at %s) as %s', async (said, step, reason) => {
    const [r] = await classifyBounce(bounce(said, step));
    expect(r).toMatchObject({ recipient: 'bob@example.com', reason });
  });

  it('reads spam content, connection limits and sender refusals that name no sending host by their words', async () => {
    for (const [said, step, reason] of [
      [
        '550 5.7.1 [192.0.2.9] Our system has detected that this message is likely unsolicited mail.',
        'DATA',
        'spamdetected',
      ],
      ['421 4.7.0 Too many concurrent SMTP connections from this IP address', 'MAIL', 'toomanyconn'],
      ['550 5.7.1 <sender@example.org>: Sender address rejected: Access denied', 'MAIL', 'rejected'],
      ['552 5.2.2 Quota exceeded (mailbox for user is full)', 'RCPT', 'mailboxfull'],
    ] as const) {
      const [r] = await classifyBounce(bounce(said, step));
      expect(r?.reason, said).toBe(reason);
    }
  });
});

describe('the SMTP step, from the words of the notice', () => {
  it('reads qmail-remote\'s "failed after I sent the message" as the end of DATA', async () => {
    const qmail = [
      'From: MAILER-DAEMON@mx.example.net',
      'To: sender@example.org',
      'Subject: failure notice',
      '',
      'Hi. This is the qmail-send program at mx.example.net.',
      "I'm afraid I wasn't able to deliver your message to the following addresses.",
      '',
      '<bob@example.com>:',
      '192.0.2.1 failed after I sent the message.',
      'Remote host said: 554 5.5.1 Error: no valid recipients',
      'Giving up on 192.0.2.1.',
      '',
    ].join('\n');
    // An "unknown recipient" after DATA is the recipient's filter, and soft (Sisimai's filtered).
    expect((await classifyBounce(qmail))[0]).toMatchObject({ reason: 'filtered', hard: false });
  });

  it("reads a transcript that opens with the server's reply as a refusal at the greeting", async () => {
    const sendmail = [
      'From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>',
      'To: sender@example.org',
      'Subject: Returned mail: see transcript for details',
      '',
      '   ----- The following addresses had permanent fatal errors -----',
      '<bob@example.com>',
      '    (reason: 554 SMTP synchronization error)',
      '',
      '   ----- Transcript of session follows -----',
      '... while talking to mx.example.com.:',
      '<<< 554 SMTP synchronization error',
      '',
    ].join('\n');
    expect((await classifyBounce(sendmail))[0]?.reason).toBe('blocked');
    // The same reply after a command the transcript shows is not the greeting's.
    const afterRcpt = sendmail.replace('<<< 554', '>>> RCPT To:<bob@example.com>\n<<< 554');
    expect((await classifyBounce(afterRcpt))[0]?.reason).not.toBe('blocked');
  });
});
