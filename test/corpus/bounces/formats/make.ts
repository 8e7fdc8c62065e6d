/**
 * Writes the sixth corpus: each reply of ../replies/replies.ts in the notices of five formats that
 * dev/ has no message of (templates.ts), one recipient each:
 * `npx tsx test/corpus/bounces/formats/make.ts`, then
 * `perl test/corpus/bounces/label.pl 'formats/*.eml' > test/corpus/bounces/labels-formats.json`.
 */
import { writeFileSync } from 'node:fs';
import { REPLIES } from '../replies/replies.js';
import { FORMATS } from './templates.js';

const DIR = import.meta.dirname;
REPLIES.forEach((reply, i) => {
  const n = String(i + 1).padStart(2, '0');
  for (const [name, make] of Object.entries(FORMATS)) {
    const text = make(reply);
    if (text !== null) writeFileSync(`${DIR}/${name}-${n}.eml`, `${text}\n`);
  }
});
