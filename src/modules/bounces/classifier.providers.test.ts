import { describe, expect, it } from 'vitest';
import { classifyBounce } from './classifier/classify.js';
import { postfixNotice } from './testing/dsn.js';

/**
 * Providers' own codes in their replies, as each publishes them (classifier/providers.ts): Cox's
 * "Email Error Codes", Spectrum's "Understanding email error codes", i.ua's error pages. Each case
 * but two (at MAIL FROM and RCPT TO, the step alone was right) read otherwise before its rule (a Cox
 * SPF/DKIM failure under 5.1.0 was a hard userunknown).
 */
describe("providers' documented codes", () => {
  it.each([
    ['554 5.7.1 cox.net rejected - AUP#CXBL (in reply to MAIL FROM command)', 'blocked'],
    ['554 cox.net rejected - AUP#CXDNS (in reply to MAIL FROM command)', 'requireptr'],
    ['550 5.7.1 AUP#IPBL0011 (in reply to RCPT TO command)', 'blocked'],
    ['550 5.1.0 AUP#CXSNDR (in reply to end of DATA command)', 'authfailure'],
    ['552 5.7.0 AUP#URLBL1001 (in reply to end of DATA command)', 'spamdetected'],
    ['421 4.7.0 AUP#CXCNCT (in reply to MAIL FROM command)', 'toomanyconn'],
    ['554 5.7.1 AUP#I-1100 (in reply to MAIL FROM command)', 'requireptr'],
    ['452 4.7.1 AUP#I-1350 (in reply to RCPT TO command)', 'speeding'],
    ['550 5.7.1 AUP#O-1530 (in reply to end of DATA command)', 'mesgtoobig'],
    ['550 5.7.1 AUP#O-1010 (in reply to MAIL FROM command)', 'rejected'],
    [
      '550 5.1.1 <bob@example.com>: Recipient address rejected: https://mail.i.ua/err/2/ (in reply to RCPT TO command)',
      'userunknown',
    ],
    ['550 5.7.1 Blocked (https://mail.i.ua/err/9/) (in reply to MAIL FROM command)', 'blocked'],
    ['550 5.7.1 Not allowed (https://mail.i.ua/err/10/) (in reply to RCPT TO command)', 'filtered'],
  ])('reads "%s" as %s', async (said, reason) => {
    const [r] = await classifyBounce(postfixNotice(said));
    expect(r.reason).toBe(reason);
    expect(r.hard).toBe(reason === 'userunknown');
  });

  it("leaves a code no provider documents to the reply's words", async () => {
    // Codes named like an object's own properties ("constructor") are no code either: the tables
    // are looked up by own key only (a plain lookup returned Object's constructor as a reason).
    // (Replies are read lower-cased, so "constructor" is the one inherited name a code can be.)
    for (const code of ['AUP#ZZZZ', 'AUP#constructor']) {
      const [r] = await classifyBounce(
        postfixNotice(`550 5.1.1 User unknown ${code} (in reply to RCPT TO command)`),
      );
      expect(r, code).toMatchObject({ reason: 'userunknown', hard: true });
    }
  });
});
