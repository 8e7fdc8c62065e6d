/**
 * Writes the fifth corpus: each reply of replies.ts at its SMTP step, in the notices of six MTAs
 * (Postfix's DSN and the five of ../synth/templates.ts), one recipient each:
 * `npx tsx test/corpus/bounces/replies/make.ts`, then
 * `perl test/corpus/bounces/label.pl 'replies/*.eml' > test/corpus/bounces/labels-replies.json`.
 */
import { writeFileSync } from 'node:fs';
import { postfixDsn, RCPT, statusOf, TEMPLATES } from '../synth/templates.js';
import { REPLIES, type Step } from './replies.js';

const DIR = import.meta.dirname;
/** Postfix's words after the recipient, per step (smtp_proto.c). */
const POSTFIX: Record<Step, (r: string) => string> = {
  CONNECT: (r) => `host mx.example.com[192.0.2.1] refused to talk to me: ${r}`,
  HELO: (r) => `host mx.example.com[192.0.2.1] said: ${r} (in reply to EHLO command)`,
  MAIL: (r) => `host mx.example.com[192.0.2.1] said: ${r} (in reply to MAIL FROM command)`,
  RCPT: (r) => `host mx.example.com[192.0.2.1] said: ${r} (in reply to RCPT TO command)`,
  DATA: (r) => `host mx.example.com[192.0.2.1] said: ${r} (in reply to end of DATA command)`,
};

REPLIES.forEach(({ step, text }, i) => {
  const n = String(i + 1).padStart(2, '0');
  writeFileSync(`${DIR}/postfix-${n}.eml`, postfixDsn(POSTFIX[step](text), text, statusOf({ text }), `R${n}`));
  for (const [name, make] of Object.entries(TEMPLATES)) {
    writeFileSync(`${DIR}/${name}-${n}.eml`, `${make([{ rcpt: RCPT, s: { step, text } }])}\n`);
  }
});
