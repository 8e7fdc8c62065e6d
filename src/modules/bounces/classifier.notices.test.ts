import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyBounce } from './classifier/classify.js';

/**
 * Bounces that do not look like an MTA's (issue 17, 6): Japanese notices in ISO-2022-JP (declared,
 * undeclared, in a base64 attachment) and mailing-list managers' refusals. The messages are
 * synthesised from the templates named in test/corpus/bounces/notices/README.md.
 */
const NOTICES = join(import.meta.dirname, '../../../test/corpus/bounces/notices');
const read = (file: string) => readFileSync(join(NOTICES, file), 'utf8');

describe('notices that are bounces', () => {
  it.each(['jp-mime.eml', 'jp-raw.eml', 'jp-attach.eml'])(
    'decodes the ISO-2022-JP carrier notice %s and reads the unknown address',
    async (file) => {
      const results = await classifyBounce(read(file));
      expect(results).toHaveLength(1);
      expect(results[0]).toMatchObject({
        recipient: 'kijitora@ezweb.example.jp',
        reason: 'userunknown',
        hard: true,
      });
      expect(results[0].diagnostic).toContain('送信先メールアドレスが見つかりませんでした');
    },
  );

  it.each(['list-fml.eml', 'list-mailman2.eml', 'list-mailman3.eml'])(
    "reads the list manager's refusal %s as the sender rejected",
    async (file) => {
      const results = await classifyBounce(read(file));
      expect(results).toHaveLength(1);
      expect(results[0]).toMatchObject({ reason: 'rejected', hard: false, type: 'DELIVERY_FAILED' });
    },
  );

  it('decodes the Japanese subject of a notice written in raw ISO-2022-JP', async () => {
    // The subject of jp-raw.eml is raw JIS: without decoding, nothing in the message is readable.
    expect(read('jp-raw.eml')).toContain('\nSubject: \x1b$B');
    const [r] = await classifyBounce(read('jp-raw.eml'));
    expect(r.recipient).toBe('kijitora@ezweb.example.jp');
  });
});

describe('messages that are not bounces', () => {
  it('refuses an ordinary post to a list that quotes a refusal', async () => {
    const raw = [
      'From: Alice <alice@example.org>',
      'To: ant@lists.example.com',
      'List-Id: <ant.lists.example.com>',
      'X-Mailman-Version: 2.1.39',
      'Subject: Re: posting from another address',
      '',
      'When I post from my other address I get "You are not allowed to post to this mailing list".',
      'Is there a way to add it? alice@example.org',
      '',
    ].join('\r\n');
    expect(await classifyBounce(raw)).toEqual([]);
  });

  it('refuses an ordinary Japanese message in ISO-2022-JP', async () => {
    const raw = [
      'From: alice@example.jp',
      'To: bob@example.jp',
      'Subject: lunch',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=ISO-2022-JP',
      '',
      // "Shall we have lunch tomorrow?" in ISO-2022-JP.
      '\x1b$BL@F|!"Cb?)$r$4$$$C$7$g$K$$$+$,$G$9$+!)\x1b(B',
      '',
    ].join('\r\n');
    expect(await classifyBounce(raw)).toEqual([]);
  });
});
