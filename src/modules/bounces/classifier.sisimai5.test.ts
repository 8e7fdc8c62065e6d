import { describe, expect, it } from 'vitest';
import { classifyBounce } from './classifier/classify.js';
import { dsnMessage, postfixNotice, postfixVerdict, recipientDsn } from './testing/dsn.js';

/**
 * Rules from the disagreements the other corpora showed once Sisimai 5.3 labelled them (the
 * release nearest dev/'s and the held-back half's 5.2; test/corpus/bounces/README.md), each from
 * the source it names. Each case read otherwise before its rule.
 */

/** A relay's DSN for one recipient whose failure has no SMTP step in it. */
function relayed(status: string, said: string, fields: string[] = []): string {
  const text = ['Delivery to the following recipients failed.', '', '       bob@example.com'];
  return recipientDsn({ status, said, fields, text });
}

describe('an unknown user at an unknown step', () => {
  it('is filtered when only a DSN status field places it, as Sisimai 5 reads it', async () => {
    // Sisimai 5's order: wording of an unknown user is userunknown at RCPT TO or under a X.1.1
    // status, and otherwise a filter on the recipient's side; a reporting MTA's 5.0.0 says
    // nothing more. It was read as userunknown whenever a DSN gave a status.
    for (const said of ['550 Requested action not taken: mailbox unavailable', '550 user unknown']) {
      const [r] = await classifyBounce(relayed('5.0.0', said));
      expect(r, said).toMatchObject({ reason: 'filtered', hard: false, status: '5.0.0' });
    }
    // Still userunknown at RCPT TO, and under 5.1.1.
    const [rcpt] = await classifyBounce(relayed('5.0.0', '550 user unknown (in reply to RCPT TO command)'));
    expect(rcpt).toMatchObject({ reason: 'userunknown', hard: true });
    const [code] = await classifyBounce(relayed('5.1.1', '550 user unknown'));
    expect(code).toMatchObject({ reason: 'userunknown', hard: true });
  });

  it("is Microsoft's missing address in Outlook.com's 5.5.0 and Exchange Online's 5.4.1", async () => {
    // Spam Resource, "Microsoft: multiple types of invalid user bounces" (2023): Outlook.com's
    // "550 5.5.0 Requested action not taken: mailbox unavailable" and Exchange Online's
    // directory-based edge blocking, "550 5.4.1 Recipient address rejected: Access denied", both
    // answer an address Microsoft does not have (Microsoft's "Fix NDR error code 5.4.1").
    const cases: [string, string][] = [
      ['5.5.0', '550 Requested action not taken: mailbox unavailable (1171782072:1364:-2147467259)'],
      [
        '5.4.1',
        '550 5.4.1 Recipient address rejected: Access denied. [AM0EUR03FT019.eop-EUR03.prod.protection.outlook.com]',
      ],
    ];
    for (const [status, said] of cases) {
      const [r] = await classifyBounce(relayed(status, said));
      expect(r, said).toMatchObject({ reason: 'userunknown', hard: true, status });
    }
    // Under a transient status the same words are no missing address.
    const [later] = await classifyBounce(
      relayed('4.4.1', '451 4.4.1 Recipient address rejected: Access denied'),
    );
    expect(later).toMatchObject({ hard: false });
    expect(later.reason).not.toBe('userunknown');
  });

  it("is au's missing address when its reply names the address, and its filter when it does not", async () => {
    // au (KDDI) answers "550 <bob@ezweb.ne.jp>: User unknown" for an address it does not have,
    // and "550 : User unknown" when the recipient's reception settings refuse the sender.
    const remote = ['Remote-MTA: dns; lsean.ezweb.ne.jp'];
    const [named] = await classifyBounce(relayed('5.0.0', '550 <bob@ezweb.ne.jp>: User unknown', remote));
    expect(named).toMatchObject({ reason: 'userunknown', hard: true });
    const [bare] = await classifyBounce(relayed('5.0.0', '550 : User unknown', remote));
    expect(bare).toMatchObject({ reason: 'filtered', hard: false });
    // These are replies to RCPT TO: reported after DATA, the rule there stands (filtered).
    const [afterData] = await classifyBounce(
      relayed('5.0.0', '550 <bob@ezweb.ne.jp>: User unknown (in reply to end of DATA command)', remote),
    );
    expect(afterData).toMatchObject({ reason: 'filtered', hard: false });
  });

  it("is read at RCPT TO when a transcript of several shows the recipient's RCPT TO refused", async () => {
    // Sendmail lists the recipients, then the transcript of each failure apart (">>> RCPT
    // To:<bob@x>", "<<< 554 ..."): the step is read there for each recipient.
    const [ann, bob] = await classifyBounce(
      dsnMessage({
        subject: 'Returned mail: see transcript for details',
        text: [
          '   ----- The following addresses had permanent fatal errors -----',
          '<ann@example.com>',
          '    (reason: 550 5.7.1 Message rejected as spam)',
          '<bob@example.com>',
          "    (reason: 554 delivery error: dd This user doesn't have a example.com account)",
          '',
          '   ----- Transcript of session follows -----',
          '... while talking to mx.example.com.:',
          '>>> DATA',
          '<<< 550 5.7.1 Message rejected as spam',
          '... while talking to mx.example.com.:',
          '>>> RCPT To:<bob@example.com>',
          "<<< 554 delivery error: dd This user doesn't have a example.com account",
        ],
        recipientFields: [
          'Final-Recipient: RFC822; ann@example.com',
          'Action: failed',
          'Status: 5.7.1',
          'Diagnostic-Code: SMTP; 550 5.7.1 Message rejected as spam',
          '',
          'Final-Recipient: RFC822; bob@example.com',
          'Action: failed',
          'Status: 5.0.0',
          "Diagnostic-Code: SMTP; 554 delivery error: dd This user doesn't have a example.com account",
        ],
      }),
    );
    expect(ann).toMatchObject({ recipient: 'ann@example.com', reason: 'spamdetected' });
    expect(bob).toMatchObject({ recipient: 'bob@example.com', reason: 'userunknown', hard: true });
  });
});

describe("PowerMTA's bounce category", () => {
  it("is the reporting MTA's own verdict when its name says the reason", async () => {
    // PowerMTA's user's guide, bounce categories (X-PowerMTA-BounceCategory in its DSNs).
    const cases: [string, string, string][] = [
      ['bad-mailbox', "554 delivery error: dd This user doesn't have a example.com account", 'userunknown'],
      ['quota-issues', '552 Requested mail action aborted', 'mailboxfull'],
      ['bad-domain', '550 Requested action not taken', 'hostunknown'],
    ];
    for (const [category, said, reason] of cases) {
      const [r] = await classifyBounce(relayed('5.0.0', said, [`X-PowerMTA-BounceCategory: ${category}`]));
      expect(r, category).toMatchObject({ reason });
    }
    // A delivery still being retried is no failure to categorise.
    const [delayed] = await classifyBounce(
      recipientDsn({
        subject: 'Delayed Mail (still being retried)',
        status: '4.4.7',
        action: 'delayed',
        said: '421 4.4.7 timeout',
        fields: ['X-PowerMTA-BounceCategory: bad-mailbox'],
      }),
    );
    expect(delayed).toMatchObject({ hard: false });
    expect(delayed.reason).not.toBe('userunknown');
    // A category that names no reason leaves it to the reply, and so does one that only looks
    // like a property of every object.
    for (const category of ['other', 'constructor', '__proto__']) {
      const [r] = await classifyBounce(
        relayed('5.0.0', '552 5.2.2 Mailbox full', [`X-PowerMTA-BounceCategory: ${category}`]),
      );
      expect(r, category).toMatchObject({ reason: 'mailboxfull' });
    }
  });
});

describe('replies whose words named a reason they do not give', () => {
  it("reads RFC 5321's 450 text as no verdict on the address: soft, not userunknown", async () => {
    // RFC 5321, 4.2.3: "450 Requested mail action not taken: mailbox unavailable (e.g., mailbox
    // busy or temporarily blocked for policy reasons)", a transient refusal; "mailbox unavailable"
    // made it a hard userunknown. Its 550 text, "Requested action not taken: mailbox
    // unavailable", is still an unknown user at RCPT TO.
    const [busy] = await classifyBounce(
      postfixNotice('450 Requested mail action not taken: mailbox unavailable (in reply to RCPT TO command)'),
    );
    expect(busy).toMatchObject({ reason: 'onhold', hard: false });
    // A permanent reply in either wording is still an unknown user at RCPT TO.
    for (const said of [
      '550 Requested action not taken: mailbox unavailable (in reply to RCPT TO command)',
      '550 Requested mail action not taken: mailbox unavailable (in reply to RCPT TO command)',
    ]) {
      const [gone] = await classifyBounce(postfixNotice(said));
      expect(gone, said).toMatchObject({ reason: 'userunknown', hard: true });
    }
  });

  it("reads RFC 5321's generic 554 text as no reason, not a system error", async () => {
    // "554 Transaction failed" is the reply code's own text (RFC 5321, 4.2.3), said when nothing
    // more specific is; Sisimai 4.25's SystemError table had it, 5.3's does not.
    const [r] = await classifyBounce(
      postfixNotice('554 Transaction failed (in reply to end of DATA command)'),
    );
    expect(r).toMatchObject({ reason: 'onhold', hard: false });
  });

  it("reads qmail-ldap's overdrawn maildir quota as a full mailbox, whatever its X.2.3 says", async () => {
    // qmail-ldap's qmail-local: "Sorry, the user's maildir has overdrawn his diskspace quota,
    // please try again later."; under 5.2.3 ("message length exceeds administrative limit") it
    // read as exceedlimit.
    const said =
      "maildir delivery failed: Sorry, the user's maildir has overdrawn his diskspace quota, please try again later.";
    const [r] = await classifyBounce(
      recipientDsn({ subject: 'failure notice', status: '5.2.3', said, type: 'x-unix' }),
    );
    expect(r).toMatchObject({ reason: 'mailboxfull', hard: false, status: '5.2.3' });
  });
});

describe("Yahoo's deferral for unexpected volume or user complaints", () => {
  const said =
    '421 4.7.0 [TSS04] Messages from 192.0.2.9 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1 (in reply to MAIL FROM command)';
  const deferred = (remote: string) =>
    recipientDsn({
      subject: 'Undelivered Mail Returned to Sender',
      text: [`<bob@example.com>: host ${remote}[192.0.2.1] said: ${said}`],
      status: '4.7.0',
      said,
      fields: [`Remote-MTA: dns; ${remote}`],
    });

  it("is the sending IP's reputation, and a refusal of the sender from Yahoo's own hosts", async () => {
    // Yahoo's postmaster pages: unusual traffic from the IP, or complaints from Yahoo users (the
    // IP's reputation, Sisimai's BadReputation table). Sisimai's table of Yahoo's hosts
    // (*.yahoodns.net) reads it as the sender's refusal, since Yahoo says it for domains without
    // SPF, DKIM or DMARC too; at MAIL FROM that is rejected. It was rejected wherever it came
    // at MAIL FROM, and securityerror elsewhere.
    const [relayed] = await classifyBounce(deferred('mx.example.com'));
    expect(relayed).toMatchObject({ reason: 'badreputation', hard: false });
    const [yahoo] = await classifyBounce(deferred('mta6.am0.yahoodns.net'));
    expect(yahoo).toMatchObject({ reason: 'rejected', hard: false });
    // Postfix's plain notice names the host in the reply's own line, with no Remote-MTA field.
    const [plain] = await classifyBounce(
      postfixVerdict(`host mta6.am0.yahoodns.net[192.0.2.1] said: ${said}`),
    );
    expect(plain).toMatchObject({ reason: 'rejected', hard: false });
  });
});
