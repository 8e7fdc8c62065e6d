import { describe, expect, it } from 'vitest';
import { classifyBounce } from './classifier/classify.js';

/**
 * Rules added for issue 17 (4), each from a source, on synthesised Postfix-style bounces: an
 * unknown host or domain that is the sender's side is not the recipient's hostunknown.
 */
const bounce = (said: string) =>
  [
    'From: Mail Delivery System <MAILER-DAEMON@mx.example.net>',
    'To: sender@example.org',
    'Subject: Undelivered Mail Returned to Sender',
    '',
    'This is the mail system at host mx.example.net.',
    '',
    `<bob@example.com>: host mx.example.com[192.0.2.1] said: ${said}`,
    '',
  ].join('\n');

describe("an unknown host or domain on the sender's side", () => {
  it.each([
    // Postfix reject_unknown_sender_domain (postconf(5)), without its 4.1.8 status.
    ['450 <sender@example.org>: Sender address rejected: Domain not found', 'rejected'],
    ['550 Sender domain example.org not found', 'rejected'],
    // Postfix reject_unknown_helo_hostname (postconf(5)), without its status.
    ['450 <mx.example.net>: Helo command rejected: Host not found', 'blocked'],
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
