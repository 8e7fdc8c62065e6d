import { describe, expect, it } from 'vitest';
import { classifyBounce } from './classifier/classify.js';
import { dominoFailure, plainNotice, postfixNotice } from './testing/dsn.js';

/**
 * What the ninth corpus (test/corpus/bounces/cws: CwsMailBounceHandler's sample messages) showed
 * was read wrong, each rule from the source it names. Each case read otherwise before its rule.
 */
describe('notices of the ninth corpus', () => {
  it('reads Lotus Domino R5\'s "not listed in public Name & Address Book" as an unknown user', async () => {
    // Domino's router before Domino 6 named its directory so (Sisimai's Domino and Notes
    // modules). It used to read as a block list's "listed in" (blocked), then as filtered.
    const said = 'User bob (bob@example.com) not listed in public Name & Address Book';
    const [r] = await classifyBounce(dominoFailure('5.1.1', said));
    expect(r).toMatchObject({ reason: 'userunknown', hard: true });
    // Under a bare 5.0.0 the words alone decide (the phrase table and OWN_LOOKUP).
    const [bare] = await classifyBounce(dominoFailure('5.0.0', said));
    expect(bare).toMatchObject({ reason: 'userunknown', hard: true });
  });

  it('still reads a block list\'s "listed in" as a refusal of the sending host', async () => {
    const [r] = await classifyBounce(
      postfixNotice('554 5.7.1 Service unavailable; Client host [192.0.2.9] listed in zen.spamhaus.org'),
    );
    expect(r?.reason).toBe('blocked');
  });

  it('reads a 5.7.17 that says the mailbox does not exist as an unknown user, not a moved owner', async () => {
    // X.7.17 "Mailbox owner has changed" answers RFC 7293's RRVS parameter, which no one sends us;
    // "sorry, no mailbox here by that name" is qmail-local.c's wording. It read as hasmoved.
    const [r] = await classifyBounce(
      postfixNotice('550 sorry, no mailbox here by that name. (#5.7.17) (in reply to RCPT TO command)'),
    );
    expect(r).toMatchObject({ reason: 'userunknown', hard: true, status: '5.7.17' });
    const [moved] = await classifyBounce(
      postfixNotice('550 5.7.17 Mailbox owner has changed (in reply to RCPT TO command)'),
    );
    expect(moved?.reason).toBe('hasmoved');
  });

  it("reads Gmail's illegal attachment refusal as a policy violation", async () => {
    // "552 5.7.0 Our system detected an illegal attachment on your message" refuses a file type
    // by policy (Sisimai's PolicyViolation table, its Google rhost table); it read as contenterror.
    const [r] = await classifyBounce(
      postfixNotice(
        '552-5.7.0 Our system detected an illegal attachment on your message. Please visit https://support.google.com/mail/?p=BlockedMessage to review our attachment guidelines. (in reply to end of DATA command)',
      ),
    );
    expect(r?.reason).toBe('policyviolation');
  });

  it('does not read an antivirus footer as a virus found, and still reads a virus found', async () => {
    // Exim's delay warning with no delay reason, from a host that appends NOD32's footer
    // (phpbh/46 and cws/bounce_420_001, both 2006): it read as virusdetected, as both messages did.
    const warning = plainNotice(
      'Warning: message 1Gdrvl-0006Gp-PU delayed 48 hours',
      [
        'This message was created automatically by mail delivery software.',
        'A message that you sent has not yet been delivered to one or more of its',
        'recipients after more than 48 hours on the queue on mx.example.net.',
        '',
        'The address to which the message has not yet been delivered is:',
        '',
        '  bob@example.com',
        '',
        'No action is required on your part. Delivery attempts will continue for',
        'some time, and this warning may be repeated at intervals if the message',
        'remains undelivered.',
        '',
        'Este mensaje ha sido analizado con  NOD32 antivirus system',
      ],
      'Mail Delivery System <Mailer-Daemon@mx.example.net>',
    );
    const [r] = await classifyBounce(warning);
    // What the warning itself says, with no delay reason: still being retried (Sisimai's expired).
    expect(r).toMatchObject({ recipient: 'bob@example.com', reason: 'expired', hard: false });
    const [virus] = await classifyBounce(
      postfixNotice('554 5.7.1 Virus found: Eicar-Test-Signature (in reply to end of DATA command)'),
    );
    expect(virus?.reason).toBe('virusdetected');
  });
});
