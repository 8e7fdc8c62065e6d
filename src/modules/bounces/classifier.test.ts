import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { close, poolFor } from '../../workers/workers.js';
import {
  BOUNCE_TYPES,
  classifyBounce,
  MAX_RECIPIENTS,
  REASON_TYPE,
  TooManyRecipients,
  typeFor,
} from './classifier/classify.js';

const CORPUS = join(import.meta.dirname, '../../../test/corpus/bounces');

describe('classifyBounce', () => {
  it('reads a bare SMTP reply', async () => {
    const [r, ...rest] = await classifyBounce(
      '550 5.1.1 <Bob@Example.com>: Recipient address rejected: User unknown in local recipient table',
    );
    expect(rest).toHaveLength(0);
    expect(r).toMatchObject({
      recipient: 'bob@example.com',
      status: '5.1.1',
      replyCode: '550',
      reason: 'userunknown',
      hard: true,
      type: 'DELIVERY_FAILED',
    });
  });

  it('reads a bare SMTP reply without an address', async () => {
    const [r] = await classifyBounce('552 5.2.2 Mailbox full, quota exceeded');
    expect(r).toMatchObject({ recipient: null, status: '5.2.2', reason: 'mailboxfull', hard: false });
  });

  it('returns [] for garbage', async () => {
    expect(await classifyBounce('')).toEqual([]);
    expect(await classifyBounce('hello, this is not a bounce at all')).toEqual([]);
    expect(await classifyBounce('{"foo": 42}')).toEqual([]);
  });

  it('returns [] for an ordinary message', async () => {
    const raw = [
      'From: Alice <alice@example.org>',
      'To: bob@example.com',
      'Subject: lunch?',
      '',
      'Shall we have lunch tomorrow?',
      '',
    ].join('\r\n');
    expect(await classifyBounce(raw)).toEqual([]);
  });

  it('reads an RFC 3464 DSN with two recipients', async () => {
    const raw = [
      'From: Mail Delivery System <MAILER-DAEMON@mx.example.net>',
      'To: sender@example.org',
      'Subject: Undelivered Mail Returned to Sender',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="XYZ"',
      '',
      '--XYZ',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'This is the mail system at host mx.example.net.',
      '',
      '<alice@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1 <alice@example.com>:',
      '    Recipient address rejected: User unknown (in reply to RCPT TO command)',
      '',
      '<carol@example.com>: host mx.example.com[192.0.2.1] said: 552 5.2.2 <carol@example.com>:',
      '    Mailbox full (in reply to RCPT TO command)',
      '',
      '--XYZ',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.example.net',
      '',
      'Final-Recipient: rfc822; Alice@example.com',
      'Action: failed',
      'Status: 5.1.1',
      'Diagnostic-Code: smtp; 550 5.1.1 <alice@example.com>: Recipient address rejected:',
      '    User unknown',
      '',
      'Final-Recipient: rfc822; carol@example.com',
      'Original-Recipient: rfc822; carol@example.com',
      'Action: failed',
      'Status: 5.2.2',
      'Diagnostic-Code: smtp; 552 5.2.2 <carol@example.com>: Mailbox full',
      '',
      '--XYZ--',
      '',
    ].join('\r\n');
    const results = await classifyBounce(raw);
    expect(results).toHaveLength(2);
    expect(results[0]).toMatchObject({
      recipient: 'alice@example.com',
      status: '5.1.1',
      replyCode: '550',
      reason: 'userunknown',
      hard: true,
      diagnostic: '550 5.1.1 <alice@example.com>: Recipient address rejected: User unknown',
    });
    expect(results[1]).toMatchObject({
      recipient: 'carol@example.com',
      status: '5.2.2',
      replyCode: '552',
      reason: 'mailboxfull',
      hard: false,
      type: 'DELIVERY_FAILED',
      diagnostic: '552 5.2.2 <carol@example.com>: Mailbox full',
    });
  });

  /** A plain-text bounce from mx.example.net about one recipient, saying `said`. */
  const textBounce = (said: string) =>
    [
      'From: Mail Delivery System <MAILER-DAEMON@mx.example.net>',
      'To: sender@example.org',
      'Subject: Undeliverable',
      '',
      'A message that you sent could not be delivered to one or more of its recipients.',
      '',
      said,
      '',
    ].join('\r\n');

  it("reads a remote server's unplaced 'user unknown' as a filter, the MTA's own as unknown", async () => {
    // A remote reply (550) with no status and no SMTP step: the recipient's side filters.
    const [remote] = await classifyBounce(
      textBounce('<bob@example.com>: 550 unknown user <bob@example.com>'),
    );
    expect(remote).toMatchObject({
      recipient: 'bob@example.com',
      replyCode: '550',
      reason: 'filtered',
      hard: false,
    });
    // No reply code: the reporting MTA's own lookup of its mailbox.
    const [own] = await classifyBounce(textBounce('Unknown user: bob@example.com'));
    expect(own).toMatchObject({
      recipient: 'bob@example.com',
      replyCode: null,
      reason: 'userunknown',
      hard: true,
    });
    // Placed at RCPT TO: the mailbox does not exist.
    const [rcpt] = await classifyBounce(
      textBounce('<bob@example.com>: 550 unknown user <bob@example.com> (in reply to RCPT TO command)'),
    );
    expect(rcpt).toMatchObject({ reason: 'userunknown', hard: true });
  });

  it('finds a reply code written as "ERROR_CODE :550,"', async () => {
    const [r] = await classifyBounce(
      textBounce('bob@example.com Invalid Address, ERROR_CODE :550, mailbox unavailable'),
    );
    expect(r).toMatchObject({ recipient: 'bob@example.com', replyCode: '550' });
  });

  it("prefers the status a remote server quoted over the reporting MTA's summary", async () => {
    const raw = [
      'From: MAILER-DAEMON@mx.example.net',
      'To: sender@example.org',
      'Subject: Delivery Status Notification (Failure)',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="XYZ"',
      '',
      '--XYZ',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.example.net',
      '',
      'Final-Recipient: rfc822; bob@example.com',
      'Action: failed',
      'Status: 5.0.0',
      "Diagnostic-Code: smtp; 5.1.0 - Unknown address error 550-'5.7.1 <x@example.net>... Access denied'",
      '',
      '--XYZ--',
      '',
    ].join('\r\n');
    const [r] = await classifyBounce(raw);
    expect(r).toMatchObject({ recipient: 'bob@example.com', status: '5.7.1', hard: false });
  });

  it("takes the explanation's server reply when the recipient's own lines quote none", async () => {
    const [r] = await classifyBounce(
      [
        'From: postmaster@mx.example.net',
        'To: sender@example.org',
        'Subject: Delivery failure',
        '',
        'Error: Invalid user address',
        '',
        'Error message below:',
        '550 - Requested action not taken: no such user here',
        '',
        'Message details:',
        '  Subject: Test message',
        '  RCPT TO: bob@example.com',
        '  Size (in bytes): 39',
        '',
      ].join('\r\n'),
    );
    expect(r).toMatchObject({
      recipient: 'bob@example.com',
      replyCode: '550',
      reason: 'filtered',
      hard: false,
    });
    expect(r.diagnostic).toMatch(/^550 - Requested action not taken: no such user here/);
  });

  it("reads the MTA's own verdict on an address over a protocol-class DSN status", async () => {
    const dsn = (transcript: string[]) =>
      [
        'From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>',
        'To: sender@example.org',
        'Subject: Returned mail: see transcript for details',
        'MIME-Version: 1.0',
        'Content-Type: multipart/report; report-type=delivery-status; boundary="XYZ"',
        '',
        '--XYZ',
        '',
        '   ----- The following addresses had permanent fatal errors -----',
        '<bob@example.com>',
        '    (reason: 550 5.5.0 Invalid recipient)',
        '',
        '   ----- Transcript of session follows -----',
        '... while talking to mx.example.com.:',
        '>>> DATA',
        '<<< 550 5.5.0 Invalid recipient',
        ...transcript,
        '',
        '--XYZ',
        'Content-Type: message/delivery-status',
        '',
        'Reporting-MTA: dns; mx.example.net',
        '',
        'Final-Recipient: RFC822; bob@example.com',
        'Action: failed',
        'Status: 5.5.0',
        'Diagnostic-Code: SMTP; 550 5.5.0 Invalid recipient',
        '',
        '--XYZ--',
        '',
      ].join('\r\n');
    const [own] = await classifyBounce(dsn(['550 5.1.1 <bob@example.com>... User unknown']));
    expect(own).toMatchObject({ status: '5.1.1', reason: 'userunknown', hard: true });
    // Without that line, a refusal at DATA: a filter on the recipient's side.
    const [bare] = await classifyBounce(dsn([]));
    expect(bare).toMatchObject({ status: '5.5.0', reason: 'filtered', hard: false });
  });

  it('reads an expired delivery as a retry loop that timed out', async () => {
    const [r] = await classifyBounce('451 4.4.7 Message expired: unable to deliver in 840 minutes');
    expect(r).toMatchObject({ reason: 'expired', hard: false, type: 'RETRY_LOOP_EXCEEDED' });
  });
});

describe('reason -> type table', () => {
  it('maps every reason of the vocabulary to one of the four types, never MAX_ATTEMPTS_REACHED', () => {
    const reasons = JSON.parse(readFileSync(join(CORPUS, 'reasons.json'), 'utf8')) as { reason: string }[];
    expect(reasons.length).toBeGreaterThan(0);
    for (const { reason } of reasons) {
      expect(Object.hasOwn(REASON_TYPE, reason), reason).toBe(true);
      expect(BOUNCE_TYPES).toContain(typeFor(reason));
      expect(typeFor(reason), reason).not.toBe('MAX_ATTEMPTS_REACHED');
    }
    expect(typeFor('expired')).toBe('RETRY_LOOP_EXCEEDED');
    expect(typeFor('spamdetected')).toBe('SPAM_REFUSED');
    expect(typeFor('userunknown')).toBe('DELIVERY_FAILED');
  });
});

describe('hostile input', () => {
  it('refuses a message naming more than MAX_RECIPIENTS recipients before classifying them', async () => {
    const bounce = (n: number) =>
      [
        'From: Mail Delivery System <MAILER-DAEMON@mx.example.net>',
        'To: sender@example.org',
        'Subject: Undelivered Mail Returned to Sender',
        '',
        'This is the mail system. Your message could not be delivered to:',
        '',
        ...Array.from({ length: n }, (_, i) => `user${i}@example.com`),
        '',
      ].join('\n');
    expect(await classifyBounce(bounce(MAX_RECIPIENTS))).toHaveLength(MAX_RECIPIENTS);
    await expect(classifyBounce(bounce(MAX_RECIPIENTS + 1))).rejects.toBeInstanceOf(TooManyRecipients);
  });

  // Each of these took seconds to hours before: a regex backtracking over a long run (quadratic),
  // or a per-line search over every other line. 1 MiB is what the API accepts.
  it('classifies 1 MiB shaped to make regexes backtrack in bounded time', async () => {
    const dsn = readFileSync(join(CORPUS, 'dev', 'bsd-lhost-postfix-14.eml'), 'utf8');
    const exim = readFileSync(join(CORPUS, 'dev', 'bsd-lhost-exim-01.eml'), 'utf8');
    const M = 1024 * 1024;
    const inBody = (run: string) => exim.replace(/\n\n/, `\n\n${run}x\n`);
    const cases: Record<string, string> = {
      spaces: dsn.replace('The mail system', ' '.repeat(M)),
      spacesEarly: inBody(' '.repeat(M)),
      digits: `550 ${'1'.repeat(M)}`,
      angles: `550 ${'<a'.repeat(M / 2)}`,
      fromLine: inBody(`from: ${'a'.repeat(M)}`),
      finalRecipient: inBody(`Final-Recipient: rfc822; ${'a'.repeat(M)}`),
      newlines: inBody('\n'.repeat(M)),
      addressLines: inBody('  a@b.example.com\n'.repeat(M / 18)),
      dashLines: inBody('-\n'.repeat(M / 2)),
    };
    const slow: string[] = [];
    for (const [name, input] of Object.entries(cases)) {
      const start = performance.now();
      await classifyBounce(input);
      const ms = performance.now() - start;
      if (ms > 3000) slow.push(`${name}: ${Math.round(ms)} ms`);
    }
    expect(slow).toEqual([]);
  }, 60_000);
});

describe('classification in a worker thread', () => {
  afterAll(() => close());

  it('gives the same results as in this thread on every file of the corpus', async () => {
    const pool = poolFor('classify', { workerThreads: 1, workerQueueSize: 1000, cpuCallTimeoutMs: 30_000 });
    const files = readdirSync(join(CORPUS, 'dev')).filter((f) => f.endsWith('.eml'));
    expect(files.length).toBeGreaterThan(200);
    const different: string[] = [];
    for (const file of files) {
      const raw = readFileSync(join(CORPUS, 'dev', file), 'utf8');
      const here = await classifyBounce(raw);
      const there = await pool.run<{ results: unknown }>(raw);
      if (JSON.stringify(there) !== JSON.stringify({ results: here })) different.push(file);
    }
    expect(different).toEqual([]);
  }, 120_000);
});
