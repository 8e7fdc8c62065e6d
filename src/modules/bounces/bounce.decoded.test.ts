/**
 * The input guard refuses NUL and lone surrogates in what the API receives, but a bounce's parts
 * are decoded afterwards (base64, quoted-printable): what they decode to is made storable before
 * it reaches PostgreSQL, which refused a NUL in the diagnostic's jsonb (a masked error).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';

let t: TestApp;
let owner: Actor;
beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
});
afterAll(() => t.close());

const RECORD = 'mutation ($m: String!) { recordBounce(input: { message: $m }) { id message } }';
const CLASSIFY = 'query ($m: String!) { classifyBounce(message: $m) { message } }';

function bounceWithPart(text: string): string {
  const body = Buffer.from(text, 'utf8').toString('base64');
  return [
    'From: MAILER-DAEMON@mx.example.org',
    'To: sender@cible.test',
    'Subject: Undelivered Mail Returned to Sender',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    body,
    '--b1--',
    '',
  ].join('\r\n');
}

it('records a bounce whose decoded text holds NUL or half a surrogate pair', async () => {
  for (const bad of ['\u0000', '\ud83d']) {
    const m = bounceWithPart(
      `<nul@example.org>: host mx.example.org said: 550 5.1.1 User unknown${bad} in virtual mailbox table`,
    );
    // The classifier itself answers the decoded text as it is (JSON carries it).
    const classified = ok(
      await t.gql<{ classifyBounce: { message: string | null }[] }, { m: string }>(
        CLASSIFY,
        { m },
        owner.token,
      ),
    );
    expect(classified.classifyBounce.length).toBeGreaterThan(0);
    const r = await t.gql<{ recordBounce: { id: string; message: string | null }[] }, { m: string }>(
      RECORD,
      { m },
      owner.token,
    );
    expect(r.errors).toBeUndefined();
    const stored = ok(r).recordBounce;
    expect(stored.length).toBeGreaterThan(0);
    for (const b of stored) expect(b.message ?? '').not.toContain('\u0000');
    // What the classifier read is kept, only made storable.
    expect(stored[0].message).toContain('User unknown');
  }
});
