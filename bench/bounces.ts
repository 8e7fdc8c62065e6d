/**
 * `npm run bench:bounces [-- --runs 5]`: the time `classifyBounce` takes on each worst case of
 * src/modules/bounces/testing/worst.ts (inputs of about 1 MiB, the body limit, shaped against the
 * classifier's costs), in this thread, against a baseline on the same input: mailparser's
 * `simpleParser` reading the head the classifier reads (READ_CHARS), i.e. just decoding the MIME.
 * Medians of `runs` calls after one warm-up call; the ratio says what classifying adds to parsing.
 * The target (issue 17, 5) is every case under 1 s.
 */
import { simpleParser } from 'mailparser';
import { classifyBounce, READ_CHARS } from '../src/modules/bounces/classifier/classify.js';
import { WORST_CASES } from '../src/modules/bounces/testing/worst.js';
import { arg, fmt, ms, quantile, table, timeRuns } from './lib.js';

const RUNS = Number(arg('runs', '5'));

const rows: (string | number)[][] = [];
let worst = 0;
for (const [name, make] of Object.entries(WORST_CASES)) {
  const input = make();
  const results = await classifyBounce(input);
  const classify = quantile(await timeRuns(() => classifyBounce(input), RUNS), 0.5);
  const head = input.slice(0, READ_CHARS);
  // mailparser refuses some of these (a header block or a part count past its limits): the time
  // it takes to refuse is the baseline then, as the classifier stops there too.
  const parseMime = () => simpleParser(head, { skipImageLinks: true }).catch(() => null);
  await parseMime();
  const parse = quantile(await timeRuns(parseMime, RUNS), 0.5);
  worst = Math.max(worst, classify);
  rows.push([
    name,
    fmt(input.length),
    results.length,
    ms(classify),
    ms(parse),
    (classify / parse).toFixed(1),
  ]);
}
console.log(`classifyBounce on 1 MiB worst cases, median of ${RUNS} runs (ms)\n`);
table(['case', 'bytes', 'results', 'classify ms', 'parse MIME ms (baseline)', 'ratio'], rows);
console.log(`\nslowest case: ${ms(worst)} ms (target: under 1,000 ms)`);
