import { describe, expect, it } from 'vitest';
import { classifyBounce } from './classifier/classify.js';
import { dominoFailure, plainNotice, postfixNotice, recipientDsn } from './testing/dsn.js';

/**
 * What the tenth corpus (test/corpus/bounces/parsers: other projects' bounce fixtures) showed was
 * read wrong, and readings the third, fourth and seventh showed when all disagreements were listed
 * again (test/corpus/bounces/disagreements.ts); each rule from the source it names. Each case read
 * otherwise before its rule.
 */
describe('notices of the tenth corpus', () => {
  it('reads Momentum\'s "no MXs for this domain could be reached" as a network error', async () => {
    // Momentum (SparkPost's MTA) says so when the domain's hosts are down or unreachable; SparkPost
    // reworded it to "no mail servers ..." in 2017 because users read it as a DNS failure. The
    // plain "no MX" in it read as notaccept (nothing to deliver to).
    for (const said of [
      '421 4.4.0 [internal] no MXs for this domain could be reached at this time',
      '421 4.4.0 [internal] no mail servers for this domain could be reached at this time',
    ]) {
      const [r] = await classifyBounce(
        recipientDsn({
          subject: 'Delayed Mail (still being retried)',
          status: '4.4.0',
          action: 'delayed',
          said,
        }),
      );
      expect(r, said).toMatchObject({ reason: 'networkerror', hard: false, status: '4.4.0' });
    }
    // A domain with no mail host at all is still notaccept.
    const [none] = await classifyBounce(postfixNotice('454 4.4.4 [internal] no MX or A for domain'));
    expect(none).toMatchObject({ reason: 'notaccept', hard: false });
  });

  it('reads Lotus Domino\'s "Several matches found in Domino Directory" as a system error', async () => {
    // The recipient's directory holds several entries for the name and its router cannot choose
    // one (Sisimai's Domino module: systemerror). It read as onhold.
    const [r] = await classifyBounce(
      dominoFailure(
        '5.0.0',
        'Recipient user name info (bob@example.com) not unique.  Several matches found in Domino Directory.',
      ),
    );
    expect(r).toMatchObject({ reason: 'systemerror', hard: false });
  });
});

describe('reading a reply', () => {
  it('reads words joined by underscores as words', async () => {
    // A server that gives its reason as an identifier (BounceParser's user-unknown-bad.msg: "550
    // BAD_RECIPIENT - see http://...?r=BAD_RECIPIENT"). It read as onhold.
    const [r] = await classifyBounce(
      postfixNotice(
        '550 BAD_RECIPIENT - see http://mail.example.ac.uk/undelivered.php?r=BAD_RECIPIENT (in reply to RCPT TO command)',
      ),
    );
    expect(r).toMatchObject({ reason: 'userunknown', hard: true });
  });

  it('does not read the name of an Authentication-Results header as a failed authentication', async () => {
    // "554 5.7.7 too many equal X-headers (X-Original-Authentication-Results:)" (the seventh
    // corpus) refuses repeated headers; the header's name says nothing failed. The phrase
    // 'authentication-results' made it authfailure; X.7.7 is a message integrity failure (RFC
    // 3463), securityerror in Sisimai's status table, as 4.25 labels it.
    const [r] = await classifyBounce(
      postfixNotice(
        '554 5.7.7 too many equal X-headers (X-Original-Authentication-Results:) (in reply to end of DATA command)',
      ),
    );
    expect(r).toMatchObject({ reason: 'securityerror', status: '5.7.7' });
    const [dmarc] = await classifyBounce(
      postfixNotice(
        "550 5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy (in reply to end of DATA command)",
      ),
    );
    expect(dmarc?.reason).toBe('authfailure');
  });

  it('reads a CCSO directory\'s "No matches to nameserver query" as a recipient miss, not DNS', async () => {
    // Yale's mail gateway (flufl.bounce's yale_01): its "nameserver" is the ph directory (RFC
    // 2378), which found no such name. It read as networkerror ("name server"); as an unknown-user
    // wording with no status and no SMTP step it is filtered (Sisimai's order), as 4.25 labels it.
    const notice = plainNotice(
      'Returned mail: User unknown',
      [
        ' --------Message not delivered to the following:',
        '',
        ' bob@example.edu    No matches to nameserver query',
        '',
        ' --------Unsent Message below:',
      ],
      'MAILER-DAEMON@mr2.example.edu',
    );
    const [r] = await classifyBounce(notice);
    expect(r).toMatchObject({ recipient: 'bob@example.edu', reason: 'filtered', hard: false });
  });
});
