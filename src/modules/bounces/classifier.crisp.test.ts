import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyBounce } from './classifier/classify.js';
import { postfixNotice } from './testing/dsn.js';
import { CORPUS } from './testing/frozen.js';

/**
 * What the seventh corpus (test/corpus/bounces/crisp: real notices' texts from Crisp's bounce
 * parser's fixtures) showed was read wrong, each rule from the source it names. Each case read
 * otherwise before its rule.
 */
describe('notices of the seventh corpus', () => {
  it('reads the SMTP step in a reply Postfix wrapped mid-phrase ("(in\\n    reply to RCPT TO")', async () => {
    const [r] = await classifyBounce(
      postfixNotice('550 No Such User Here (in\n    reply to RCPT TO command)'),
    );
    expect(r).toMatchObject({ reason: 'userunknown', hard: true });
  });

  it.each([
    // RFC 3463's X.2.1, "mailbox disabled": the mailbox exists, soft.
    [
      '450 4.2.1 <bob@example.com>: Recipient address rejected: this mailbox is inactive and has been disabled (in reply to RCPT TO command)',
      'suspend',
      false,
    ],
    // Sisimai's UserUnknown table: "mailbox <address> unavailable".
    ['550 mailbox bob@example.com unavailable (in reply to RCPT TO command)', 'userunknown', true],
    // Microsoft's "Fix NDR error code 5.4.310": the recipient's domain does not exist.
    [
      '550 5.4.310 DNS domain example.com does not exist [Message=InfoDomainNonexistent] [LastAttemptedServerName=example.com] (in reply to RCPT TO command)',
      'hostunknown',
      true,
    ],
    // Microsoft's NDR reference, 5.7.129: the recipient group accepts listed senders only.
    [
      '550 5.7.129 RESOLVER.RST.RestrictedToRecipientsPermission; not authorized to send to recipient because the sender is not on the allowed senders list (in reply to end of DATA command)',
      'rejected',
      false,
    ],
  ])('reads "%s" as %s', async (said, reason, hard) => {
    const [r] = await classifyBounce(postfixNotice(said));
    expect(r).toMatchObject({ reason, hard });
  });

  it('reads Postfix\'s own "Connection timed out" as expired (Sisimai\'s Expired table)', async () => {
    const notice = postfixNotice('x').replace(
      /<bob@example.com>: .*/,
      '<bob@example.com>: connect to mx.example.com[192.0.2.1]:25: Connection timed out',
    );
    const [r] = await classifyBounce(notice);
    expect(r).toMatchObject({ recipient: 'bob@example.com', reason: 'expired', hard: false });
  });

  it("reads Exchange Online's NDR by its recipient, not the sender address it lists", async () => {
    const ndr = [
      'From: Microsoft Outlook <postmaster@outlook.com>',
      'To: sender@example.org',
      'Subject: Undeliverable: Hello',
      '',
      "Your message to bob@example.com couldn't be delivered.",
      "bob wasn't found at example.com.",
      '',
      'Original Message Details',
      'Sender Address: bounces+123@mail.example.org',
      'Recipient Address:      bob@example.com',
      'Subject:        Hello',
      '',
      'Error Details',
      'Error:  550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient bob@example.com not found by SMTP address lookup',
      '',
    ].join('\n');
    const results = await classifyBounce(ndr);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ recipient: 'bob@example.com', reason: 'userunknown', hard: true });
  });
});

describe("a notice's text without its headers", () => {
  it('is read as the whole message is (every notice of the seventh corpus but one)', async () => {
    // The corpus's fixtures are notices' texts alone, as a mail reader shows them; crisp/*.eml
    // adds the headers their software writes. First reading: 0 of 110 read at all (no header
    // line, no leading reply code: "neither a bounce nor an SMTP reply").
    const dir = join(CORPUS, 'crisp');
    const verdicts = (r: Awaited<ReturnType<typeof classifyBounce>>) =>
      r.map((x) => `${x.recipient} ${x.reason} ${x.hard}`).join(', ');
    let same = 0;
    const files = readdirSync(join(dir, 'fixtures')).filter((f) => f.endsWith('.txt'));
    for (const file of files) {
      const bare = await classifyBounce(readFileSync(join(dir, 'fixtures', file), 'utf8'));
      const whole = await classifyBounce(readFileSync(join(dir, file.replace(/\.txt$/, '.eml')), 'utf8'));
      if (verdicts(bare) === verdicts(whole)) same += 1;
    }
    console.log(`headerless notices read as the whole message: ${same}/${files.length}`);
    expect(files).toHaveLength(110);
    // The one left: Gmail's "Delivery incomplete" with no reply nor failure wording, which only
    // its sender (mailer-daemon@googlemail.com) makes a bounce.
    expect(same).toBeGreaterThanOrEqual(109);
  });

  it('is still nothing when it reads like an ordinary message', async () => {
    expect(await classifyBounce('Hi Bob,\n\nsee you tomorrow at 10.\n\nalice@example.org')).toEqual([]);
    expect(await classifyBounce('Hello\n\nThe meeting could not be delivered on time, sorry.')).toEqual([]);
  });
});
