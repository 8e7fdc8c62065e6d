/**
 * Lists, for the labelled corpora, each recipient whose verdict differs from its label: where a
 * rule might be missing, or where the labeller reads otherwise (Sisimai 5.2 for dev/, 5.3 for
 * the others). A dev tool, from the repository root:
 * `npx tsx test/corpus/bounces/disagreements.ts [part of a labels file's name, e.g. cws]`.
 * One line per recipient: corpus, file, label (reason/H or S, status), ours, the diagnostic.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classifyBounce } from '../../../src/modules/bounces/classifier/classify.js';
import { CORPUS, type Label } from '../../../src/modules/bounces/testing/frozen.js';

const only = process.argv[2];
const files = readdirSync(CORPUS)
  .filter((f) => /^labels(?:-[\w-]+)?\.json$/.test(f) && (!only || f.includes(only)))
  .sort();

const verdict = (reason: string | undefined, hard: boolean | undefined, status: string | null | undefined) =>
  `${reason}/${hard ? 'H' : 'S'} ${status ?? ''}`.trim();

let shown = 0;
for (const labels of files) {
  // labels.json names dev/'s files without their folder; the others name theirs.
  const folder = labels === 'labels.json' ? 'dev' : '';
  for (const l of JSON.parse(readFileSync(join(CORPUS, labels), 'utf8')) as Label[]) {
    if ('notBounce' in l) continue;
    const results = await classifyBounce(readFileSync(join(CORPUS, folder, l.file), 'utf8'));
    for (const e of l.recipients) {
      const r = results[e.index - 1];
      if (r && r.reason === e.reason && r.hard === e.hardbounce) continue;
      shown += 1;
      const said = (r?.diagnostic ?? '').replace(/\s+/g, ' ').slice(0, 160);
      console.log(
        [labels, l.file, verdict(e.reason, e.hardbounce, e.status), verdict(r?.reason, r?.hard, r?.status), said].join('\t'),
      );
    }
  }
}
console.error(`${shown} disagreements in ${files.join(', ')}`);
