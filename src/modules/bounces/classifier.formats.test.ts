import { describe, expect, it } from 'vitest';
import { FORMATS } from '../../../test/corpus/bounces/formats/templates.js';
import { REPLIES } from '../../../test/corpus/bounces/replies/replies.js';
import { classifyBounce } from './classifier/classify.js';
import { postfixNotice } from './testing/dsn.js';

/**
 * The notices of formats dev/ holds no message of (the sixth corpus, formats/templates.ts): each
 * case failed before its rule. A format must not change what a reply means: where the notice
 * says as much as Postfix's (the reply, and the step where the format shows it), the verdict is
 * the one the same reply gets in Postfix's notice.
 */
const notice = (format: string, step: 'RCPT' | 'DATA' | 'MAIL', text: string) => {
  const out = FORMATS[format]({ step, text });
  if (out === null) throw new Error(`${format} cannot show ${step}`);
  return out;
};

describe('notices of formats dev/ lacks', () => {
  it("reads Google Workspace's reply from its text when the Diagnostic-Code holds the code alone", async () => {
    const [r] = await classifyBounce(
      notice('gsuite', 'RCPT', '552 5.2.2 The email account that you tried to reach is over quota.'),
    );
    expect(r).toMatchObject({
      recipient: 'bob@example.com',
      reason: 'mailboxfull',
      status: '5.2.2',
      hard: false,
    });
    expect(r.diagnostic).toBe('552 5.2.2 The email account that you tried to reach is over quota.');
  });

  it("takes the failure a terse report's text quotes, not a success before it", async () => {
    const text = notice('gsuite', 'RCPT', '550 5.1.1 No such user').replace(
      'The response from the remote server was:',
      'The remote server answered:\n250 2.1.0 Sender OK\n\nThe response from the remote server was:',
    );
    const [r] = await classifyBounce(text);
    expect(r).toMatchObject({ reason: 'userunknown', diagnostic: '550 5.1.1 No such user' });
  });

  it("reads Exchange Online's \"Remote Server returned '...'\" as the remote reply", async () => {
    const [r] = await classifyBounce(notice('office365', 'RCPT', '552 5.2.2 Mailbox full'));
    expect(r).toMatchObject({ reason: 'mailboxfull', status: '5.2.2' });
    expect(r.diagnostic).toBe('552 5.2.2 Mailbox full');
  });

  it("reads Exchange Online's 5.1.10 RecipientNotFound as an unknown user, a null MX's 5.1.10 not", async () => {
    const [found] = await classifyBounce(
      notice(
        'office365',
        'RCPT',
        '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup',
      ),
    );
    expect(found).toMatchObject({ reason: 'userunknown', hard: true });
    const [nullMx] = await classifyBounce(
      postfixNotice(
        '550 5.1.10 Domain example.com does not accept mail (nullMX) (in reply to RCPT TO command)',
      ),
    );
    expect(nullMx).toMatchObject({ reason: 'notaccept' });
  });

  it("reads a qmail clone's notice as qmail-send's: a temporary reply is its reason, not expiry", async () => {
    // qmail-send appends "I'm not going to try again; this message has been in the queue too long."
    const [r] = await classifyBounce(notice('x4', 'RCPT', '452 4.3.1 Insufficient system storage'));
    expect(r).toMatchObject({ reason: 'systemfull', hard: false });
  });

  it('does not read a notice introducing itself as "the mail delivery agent" as a mailer error', async () => {
    const [r] = await classifyBounce(
      notice('x4', 'RCPT', '553 Requested action not taken: mailbox name not allowed'),
    );
    expect(r.reason).not.toBe('mailererror');
  });

  it('gives each recipient of an Exchange Online NDR the reply its own diagnostic block quotes', async () => {
    const two = notice('office365', 'RCPT', '552 5.2.2 Mailbox full')
      .replace(
        'Diagnostic information for administrators:',
        'carol@example.net<mailto:carol@example.net>\nA problem occurred.\n\nDiagnostic information for administrators:',
      )
      .replace(
        '\nOriginal message headers:',
        "\ncarol@example.net\nmx.example.net\nRemote Server returned '550 5.1.1 User unknown'\n\nOriginal message headers:",
      );
    const rs = await classifyBounce(two);
    expect(rs.map((r) => [r.recipient, r.reason, r.hard])).toEqual([
      ['bob@example.com', 'mailboxfull', false],
      ['carol@example.net', 'userunknown', true],
    ]);
  });

  it("takes the recipient of a notice that names none from the returned message's one To:", async () => {
    // Google Workspace's notices for a misconfigured "Send mail as" name no recipient.
    const workspace = (to: string) =>
      [
        'From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>',
        'To: sender@example.org',
        'Subject: Delivery Status Notification (Failure)',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="W1"',
        '',
        '--W1',
        'Content-Type: text/plain; charset=UTF-8',
        '',
        '** Message not delivered **',
        '',
        "You're sending this from a different address or alias using the 'Send mail as' feature.",
        '',
        'The response was:',
        'Unspecified Error (SENT_SECOND_EHLO): Smtp server does not advertise AUTH capability',
        '',
        '--W1',
        'Content-Type: message/rfc822',
        '',
        'From: sender@example.org',
        `To: ${to}`,
        'Subject: test',
        '',
        'test',
        '--W1--',
        '',
      ].join('\n');
    const [one] = await classifyBounce(workspace('Bob <bob@example.com>'));
    expect(one).toMatchObject({ recipient: 'bob@example.com', reason: 'undefined' });
    // Several addressees: which one it did not reach is not said.
    const [several] = await classifyBounce(workspace('bob@example.com, carol@example.net'));
    expect(several.recipient).toBeNull();
  });

  it("reads Smail 3's notice (T-Online's too), its replies ending at the next banner", async () => {
    // smail-3 notify.c: "|---- Failed addresses follow: ----|", " addr ... failed: reply".
    const smail = [
      'From: MAILER-DAEMON@mx.example.net',
      'To: sender@example.org',
      'Subject: mail failed, returning to sender',
      '',
      '|------------------------- Message log follows: -------------------------|',
      ' no valid recipients were found for this message',
      '|------------------------- Failed addresses follow: ---------------------|',
      ' bob@nyaan.example.com ... unknown host',
      ' carol@example.com ... failed: 550 5.1.1 <carol@example.com>... User unknown',
      '|------------------------- Message text follows: ------------------------|',
      'From: sender@example.org',
      'To: bob@nyaan.example.com, carol@example.com',
      '',
      'test',
    ].join('\n');
    const rs = await classifyBounce(smail);
    expect(rs.map((r) => [r.recipient, r.reason, r.hard])).toEqual([
      ['bob@nyaan.example.com', 'hostunknown', true],
      ['carol@example.com', 'userunknown', true],
    ]);
    const [telekom] = await classifyBounce(
      [
        'From: Mail Delivery System <Mailer-Daemon@t-online.de>',
        'To: sender@example.org',
        'Subject: mail failed, returning to sender',
        '',
        '|------------------------- Failed addresses follow: ---------------------|',
        ' <bob@t-online.de>',
        '   552 5.2.2 <bob@t-online.de> Quota exceeded (mailbox for user is full)',
        '',
        '|------------------------- Message header follows: ----------------------|',
        'From: sender@example.org',
        'To: bob@t-online.de',
      ].join('\n'),
    );
    expect(telekom).toMatchObject({ recipient: 'bob@t-online.de', reason: 'mailboxfull', hard: false });
    expect(telekom.diagnostic).toBe('552 5.2.2 <bob@t-online.de> Quota exceeded (mailbox for user is full)');
  });

  it("reads the SMTP step of Gmail's older notices from their '(state N)'", async () => {
    const gmail = (state: number) =>
      [
        'From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>',
        'To: sender@example.org',
        'Subject: Delivery Status Notification (Failure)',
        '',
        'Delivery to the following recipient failed permanently:',
        '',
        '     bob@example.com',
        '',
        'Technical details of permanent failure:',
        'Google tried to deliver your message, but it was rejected by the recipient domain. The error that the other server returned was:',
        `550 550 Unknown user bob@example.com (state ${state}).`,
        '',
        '   ----- Original message -----',
        '',
        'To: bob@example.com',
      ].join('\n');
    const verdicts = [];
    for (const state of [13, 14, 18]) {
      const [r] = await classifyBounce(gmail(state));
      verdicts.push([state, r.reason, r.hard]);
    }
    // As Sisimai 4.25 labels the same notices: EHLO refused, RCPT TO, after DATA.
    expect(verdicts).toEqual([
      [13, 'blocked', false],
      [14, 'userunknown', true],
      [18, 'filtered', false],
    ]);
  });

  it("gives each documented reply in InterScan's and a qmail clone's notices the verdict it gets in Postfix's", async () => {
    // Both show the step (InterScan's "Sent <<< RCPT TO", qmail-remote's words for each step).
    // A 4xx reply ends a qmail notice with qmail-send's queue lifetime sentence: the delivery
    // expired only where the reply names nothing else, as its notices say (reasons.ts). At MAIL
    // FROM, qmail-remote's own verdict ("but sender was rejected") is the reason (rejected).
    const STEP = { CONNECT: null, HELO: null, MAIL: null, RCPT: 'RCPT TO', DATA: 'end of DATA' } as const;
    let compared = 0;
    const differ: string[] = [];
    for (const reply of REPLIES) {
      const said = STEP[reply.step];
      if (said === null) continue;
      const [p] = await classifyBounce(postfixNotice(`${reply.text} (in reply to ${said} command)`));
      for (const format of ['interscan', 'x4']) {
        const text = FORMATS[format](reply);
        if (text === null) continue;
        const [r] = await classifyBounce(text);
        compared += 1;
        if (r?.reason !== p.reason || r.hard !== p.hard)
          differ.push(`${format}: ${reply.text} → ${r?.reason}, not ${p.reason}`);
      }
    }
    expect(compared).toBeGreaterThan(80);
    // What is left: 4xx replies whose words name no reason of their own, read as expired.
    expect(differ.filter((d) => !/→ expired, not /.test(d))).toEqual([]);
  });
});
