/**
 * The hand-built MIME of the sending engine read back by mailparser (what receivers' parsers do)
 * beside the same message composed by nodemailer: the same headers and parts, whatever the text
 * (accents, another script, long lines, lines starting with a dot, mixed line endings), and the
 * form RFC 5322 and 2045 require (CRLF only, body lines within 76 characters, the boundary in no part).
 */

import { decode as qpDecode } from 'libqp';
import { type AddressObject, simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import { describe, expect, it } from 'vitest';
import { type MimeFixed, type MimeMessage, mimeComposer, quotedPrintable } from './mime.js';

const fixed: MimeFixed = {
  from: { name: 'Zoë "the" Shop', address: 'news@shop.example' },
  replyTo: 'help@shop.example',
  headers: {
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    Precedence: 'bulk',
    'X-Cible-Operation': 'op-1',
  },
};

const base: MimeMessage = {
  to: 'c1@example.org',
  subject: 'Hello F1, spring is here',
  html: '<p>Hello</p>',
  text: 'Hello',
  messageId: '<op-1.1@shop.example>',
  headers: {
    'List-Unsubscribe': `<https://cible.example/u/${'x'.repeat(180)}.${'y'.repeat(43)}>`,
  },
  date: new Date('2026-12-03T08:28:03Z'),
};

const cases: [string, Partial<MimeMessage>][] = [
  ['plain ASCII, short lines (7bit)', {}],
  [
    'a long HTML line, accents (quoted-printable)',
    {
      subject: 'Bonjour Zoë, le printemps est là — 20 % de remise sur tout le magasin cette semaine',
      html: `<html><body><p>${'Des couleurs fraîches, des tissus légers = 100 % été. '.repeat(20)}</p></body></html>`,
      text: `Bonjour Zoë\n${'é'.repeat(300)}\n`,
    },
  ],
  [
    'another script (base64)',
    {
      subject: 'Привет, весна',
      html: `<p>${'Свежие цвета и лёгкие ткани. '.repeat(30)}</p>`,
      text: 'Привет',
    },
  ],
  [
    'lines starting with a dot, mixed line endings, trailing spaces',
    { html: '<p>a</p>\n.\n..b\r\n.c \r<p>end</p>', text: '.\nline \r\n..two\rthree  ' },
  ],
  ['long lines without a letter (base64)', { html: `<p>${'1234 '.repeat(40)}</p>`, text: '+'.repeat(90) }],
  // (The engine's text part is never empty: it carries the unsubscribe footer at least.)
  ['a line break in the subject', { subject: 'one\r\ntwo' }],
];

const nodemailerOf = (m: MimeMessage) =>
  new MailComposer({
    from: { name: fixed.from.name as string, address: fixed.from.address },
    replyTo: fixed.replyTo as string,
    to: m.to,
    subject: m.subject,
    html: m.html,
    text: m.text,
    messageId: m.messageId,
    date: m.date,
    headers: { ...m.headers, ...fixed.headers },
  })
    .compile()
    .build();

const addresses = (a: AddressObject | AddressObject[] | undefined) =>
  [a ?? []].flat().flatMap((x) => x.value.map((v) => [v.name, v.address]));

describe('mimeComposer', () => {
  const compose = mimeComposer(fixed);
  it.each(cases)('%s: reads as nodemailer’s message does', async (_name, change) => {
    const m = { ...base, ...change };
    const raw = compose?.(m);
    expect(raw).toBeInstanceOf(Buffer);
    const nodemailers = await nodemailerOf(m);
    const [ours, theirs] = await Promise.all([simpleParser(raw as Buffer), simpleParser(nodemailers)]);
    // The same encoding chosen for each part (7bit, quoted-printable or base64).
    const encodings = (b: Buffer) => b.toString('latin1').match(/^Content-Transfer-Encoding: .*$/gim);
    expect(encodings(raw as Buffer)).toEqual(encodings(nodemailers));
    expect(ours.subject).toBe(theirs.subject);
    expect(addresses(ours.from)).toEqual(addresses(theirs.from));
    expect(addresses(ours.from)).toEqual([['Zoë "the" Shop', 'news@shop.example']]);
    expect(addresses(ours.to)).toEqual(addresses(theirs.to));
    expect(addresses(ours.replyTo)).toEqual(addresses(theirs.replyTo));
    expect(ours.messageId).toBe(m.messageId);
    expect(ours.date?.toISOString()).toBe('2026-12-03T08:28:03.000Z');
    // Line endings are CRLF on the wire: compared as such.
    const crlf = (s: string | false | undefined) => (s || '').replace(/\r?\n|\r/g, '\n');
    expect(crlf(ours.html)).toBe(crlf(theirs.html));
    expect(crlf(ours.text)).toBe(crlf(theirs.text));
    for (const h of [
      'list-unsubscribe',
      'list-unsubscribe-post',
      'precedence',
      'x-cible-operation',
      'mime-version',
    ])
      expect(JSON.stringify(ours.headers.get(h)), h).toBe(JSON.stringify(theirs.headers.get(h)));
    expect(ours.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });

    const text = (raw as Buffer).toString('latin1');
    expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    // Header lines fold at spaces (a long URL cannot fold: at most 998, as nodemailer's), body lines
    // are within 76 characters.
    const at = text.indexOf('\r\n\r\n');
    for (const line of text.slice(0, at).split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
    for (const line of text.slice(at).split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
    const boundary = /boundary="([^"]+)"/.exec(text)?.[1] as string;
    expect(text.split(`--${boundary}`)).toHaveLength(4);
    expect(text.endsWith(`--${boundary}--\r\n`)).toBe(true);
  });

  it('leaves a non-ASCII or unsafe address to nodemailer (null), and an unsafe sender altogether', () => {
    expect(compose?.({ ...base, to: 'zoë@exämple.org' })).toBeNull();
    expect(compose?.({ ...base, to: 'a@b.org\r\nBcc: x@y.org' })).toBeNull();
    expect(compose?.({ ...base, to: 'a b@c.org' })).toBeNull();
    expect(mimeComposer({ ...fixed, from: { name: null, address: 'news@shöp.example' } })).toBeNull();
    expect(mimeComposer({ ...fixed, replyTo: 'Help <help@shop.example>' })).toBeNull();
  });

  it('writes a message from an address without a name as the address alone', async () => {
    const raw = mimeComposer({ ...fixed, from: { name: null, address: 'news@shop.example' } })?.(base);
    expect((raw as Buffer).toString()).toMatch(/^From: news@shop.example\r$/m);
  });
});

describe('quotedPrintable', () => {
  // Characters that matter: the literal range, "=", blanks, line breaks, controls, Latin-1, a
  // three-byte and a four-byte (surrogate pair) character, and a lone surrogate.
  const alphabet = ['a', 'Z', '.', '=', ' ', '\t', '\r\n', '\x01', '\x7f', 'é', '€', '😀', '\ud800', '-'];
  const random = (seed: number) => {
    let x = seed;
    const next = () => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x;
    };
    return Array.from({ length: next() % 400 }, () => alphabet[next() % alphabet.length]).join('');
  };

  it('decodes back to the UTF-8 of its input, lines within 76, no blank before a line end', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const s = random(seed);
      const qp = quotedPrintable(s);
      expect(qpDecode(qp).equals(Buffer.from(s, 'utf8')), JSON.stringify(s)).toBe(true);
      expect(qp).toMatch(/^[\x20-\x7e\r\n\t]*$/);
      for (const line of qp.split('\r\n')) {
        expect(line.length).toBeLessThanOrEqual(76);
        expect(line).not.toMatch(/[ \t]$/);
        // A soft break never cuts an =XX in two.
        expect(line).not.toMatch(/=[0-9A-F]$/);
      }
    }
  });
});
