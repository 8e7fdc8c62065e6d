/**
 * The frozen quarter of the dev corpus (issue 17, 2): whole MTA/provider families (the `module` of
 * labels.json: lhost-postfix, rhost-google, arf...) drawn in a seeded random order until they hold
 * a quarter of the labelled recipients. Rules are built on the other three quarters only; the
 * frozen one says whether they generalise to families they were not built from. The list lives in
 * test/corpus/bounces/frozen.json; `npx tsx src/modules/bounces/testing/frozen.ts` rewrites it and
 * the corpus test checks it still matches this choice.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CORPUS = join(import.meta.dirname, '../../../../test/corpus/bounces');

export interface LabelRecipient {
  index: number;
  status: string;
  reason: string;
  hardbounce: boolean;
  replyCode: string;
  feedbackType?: string;
}
export type Label =
  | { file: string; notBounce: true }
  | { file: string; module: string; recipients: LabelRecipient[] };

export interface Frozen {
  seed: number;
  share: number;
  families: string[];
  files: string[];
}

export const FROZEN_SEED = 17;
export const FROZEN_SHARE = 0.25;

/** mulberry32: a small seeded generator, so the draw is the same on every machine. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The families (and their files) frozen for a seed: shuffled, taken until `share` of the recipients. */
export function chooseFrozen(labels: Label[], seed = FROZEN_SEED, share = FROZEN_SHARE): Frozen {
  const size = new Map<string, number>();
  let total = 0;
  for (const l of labels) {
    if ('notBounce' in l) continue;
    size.set(l.module, (size.get(l.module) ?? 0) + l.recipients.length);
    total += l.recipients.length;
  }
  const families = [...size.keys()].sort();
  const next = random(seed);
  for (let i = families.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [families[i], families[j]] = [families[j], families[i]];
  }
  const chosen: string[] = [];
  let n = 0;
  for (const f of families) {
    if (n >= share * total) break;
    chosen.push(f);
    n += size.get(f) ?? 0;
  }
  chosen.sort();
  const files = labels
    .filter((l) => !('notBounce' in l) && chosen.includes(l.module))
    .map((l) => l.file)
    .sort();
  return { seed, share, families: chosen, files };
}

export function readLabels(): Label[] {
  return JSON.parse(readFileSync(join(CORPUS, 'labels.json'), 'utf8')) as Label[];
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const frozen = chooseFrozen(readLabels());
  writeFileSync(join(CORPUS, 'frozen.json'), `${JSON.stringify(frozen, null, 1)}\n`);
  console.log(`${frozen.families.length} families, ${frozen.files.length} files frozen`);
}
