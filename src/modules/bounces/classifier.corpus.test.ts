import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyBounce } from './classifier/classify.js';
import { CORPUS, chooseFrozen, type Frozen, type Label, readLabels } from './testing/frozen.js';

/**
 * Agreement with Sisimai's labels on dev/, in two parts (issue 17, 2): the three quarters rules
 * are built on, and the frozen quarter (whole MTA/provider families, testing/frozen.ts) that no
 * rule may be tuned on. A rule that only helps the part it was built from shows as a gap here.
 * Floors: the figures reached, rounded down; they may only go up.
 *
 * The quarter was frozen after the first rules had been written on the whole of dev/ (issue 17
 * came after them): its figure measures the rules added since, not those before.
 */
const FLOORS = {
  all: { reason: 94.8, hard: 98.4 },
  built: { reason: 94.0, hard: 98.2 },
  frozen: { reason: 97.4, hard: 98.7 },
  synth: { reason: 92.4, hard: 99.4 },
  flufl: { reason: 93.4, hard: 98.9 },
  bounceparser: { reason: 89.7, hard: 96.5 },
  replies: { reason: 64.8, hard: 100 },
  formats: { reason: 65.6, hard: 99.0 },
  crisp: { reason: 77.4, hard: 92.1 },
  phpbh: { reason: 98.9, hard: 100 },
  cws: { reason: 100, hard: 100 },
  parsers: { reason: 93.1, hard: 97.2 },
  /** For each format of the sixth corpus: the lowest are 91.9% (89.2% for Microsoft 365's before 2026-12-08). */
  sameAsPostfix: 89.1,
};

/**
 * The corpora labelled by Sisimai (label.pl), other than the second: their recipients (the count
 * is exact, so a lost message fails) and, in each comment, where they come from and what the first
 * reading said, before any rule was written from them. The first readings were against Sisimai
 * 4.25's labels (Debian 12's); since 2026-12-08 every corpus but dev/ is labelled by Sisimai 5.3
 * (Debian 13's, sisimai5.sh), the release nearest dev/'s 5.2 and so the held-back half's.
 * A message 5.3 does not read is counted apart: it has no label (messages 4.25 read and 5.3 does
 * not, 30 of flufl.bounce's among them, left the measure with the change of labeller).
 */
const LABELLED: {
  key: Exclude<keyof typeof FLOORS, 'sameAsPostfix'>;
  file: string;
  name: string;
  total: number;
}[] = [
  // flufl/: the bounce detectors' test data of flufl.bounce (LGPL-3), as Debian's
  // python3-flufl.bounce ships it. Read for the first time after the rules of the second corpus:
  // 71.3% of reasons, 86.1% of hard/soft (4.25's labels).
  {
    key: 'flufl',
    file: 'labels-flufl.json',
    name: "flufl.bounce's test messages (collected by GNU Mailman)",
    total: 92,
  },
  // bounceparser/ (GPL-1+ or Artistic). First reading: 75.6% of reasons, 91.9% of hard/soft
  // (4.25's labels).
  {
    key: 'bounceparser',
    file: 'labels-bounceparser.json',
    name: "Mail::DeliveryStatus::BounceParser's test messages",
    total: 117,
  },
  // replies/: 74 documented replies (replies.ts) at their SMTP step, in the notices of Postfix,
  // Exim, Sendmail, qmail, OpenSMTPD and Courier. First reading: 63.1% / 99.1% (4.25's labels).
  // Sisimai 5.3 does not read the plain OpenSMTPD notice (74 messages). Most of what is left is
  // its status-class fallback (securityerror for a 5.7.x it has no phrase for, such as Postfix's
  // "Client host rejected: Access denied") where ours names one.
  {
    key: 'replies',
    file: 'labels-replies.json',
    name: "replies as providers and MTAs document them, in six MTAs' notices",
    total: 370,
  },
  // formats/: the same replies in the notices of Microsoft 365, InterScan MSS, a qmail clone,
  // Google Workspace and MessageLabs (formats/templates.ts), none of which dev/ holds a message
  // of. First reading: 55.3% / 96.0% (4.25's labels). What is left is mostly what is left in
  // replies/, and the step these formats do not show.
  {
    key: 'formats',
    file: 'labels-formats.json',
    name: 'the same replies in the notices of five formats dev/ lacks',
    total: 329,
  },
  // crisp/: 110 notices (mostly Postfix's, with real providers' replies of 2023; Exim, Sendmail,
  // Gmail, Exchange Online, MessageLabs) in the headers their software writes (crisp/make.ts).
  // First reading: 69.4% / 92.8% (4.25's labels). Of what is left, 5.3's status-class fallback
  // (securityerror for a 5.7.1 spam refusal) and its onhold for Postfix's own connection
  // failures are most.
  {
    key: 'crisp',
    file: 'labels-crisp.json',
    name: "real notices' texts from Crisp's bounce parser",
    total: 102,
  },
  // phpbh/: its 100 real samples (2006-2014: Exim, qmail, Sendmail, Exchange, Hotmail's DSNs and
  // complaints, ARF reports, auto-replies), addresses renamed (anonymise.ts). First reading:
  // 93.5% / 97.8% on the first 94 (4.25's labels; the last six, added after those rules, all
  // agreed).
  { key: 'phpbh', file: 'labels-phpbh.json', name: "PHP-Bounce-Handler's sample messages", total: 96 },
  // cws/: the 97 real samples of CwsMailBounceHandler (LGPL; 2006-2013: Exim, qmail,
  // Postfix, Sendmail, Domino, Sun ONE, Hotmail, Gmail, Exchange 5.5 notices, ARF reports), most
  // sent back to an Argentinian newsletter, addresses renamed (anonymise.ts). First reading:
  // 91.7% / 98.8% on the first 86 messages (84 recipients; the last 11, added after those rules,
  // all agreed; 4.25's labels). What is left: a maildir over quota, mailboxfull to 5.3 and
  // exceedlimit here (its X.2.3 status).
  { key: 'cws', file: 'labels-cws.json', name: "CwsMailBounceHandler's sample messages", total: 94 },
  // parsers/: the bounce fixtures of five more parsers and mail libraries (flanker, Apache-2.0;
  // bounce_email, MIT; MediaWiki's BounceHandler, GPL-2+; Dada Mail, GPL; Ruby's mail gem, MIT)
  // and two applications that read bounces (the RIPE Database, BSD; Zammad, AGPL), 2007-2021:
  // CommuniGate Pro, Domino, Exchange, Gmail, Hotmail, AOL, Office 365, Amazon SES, Momentum,
  // Postfix, Exim, qmail, Sendmail, OpenSMTPD; addresses renamed. First reading: 61.5% / 84.6%
  // on the first three sets (26 recipients); Dada Mail's and the mail gem's, read after those
  // rules, 87.5% / 91.7% (24); RIPE's and Zammad's, after those, 73.3% / 80.0% (15), all
  // against 4.25's labels. A later batch (listmonk, MimeKit, CPython, mailparser, CiviCRM: Office
  // 365, Postfix, Sendmail, iCloud, Amazon SES, Gmail, ProtonMail, Sun's SIMS, 1996 to 2026),
  // read after the rules of 2026-12-08 against 5.3's labels: 13 of 13 recipients agree.
  { key: 'parsers', file: 'labels-parsers.json', name: "other parsers' bounce fixtures", total: 73 },
];

interface Tally {
  total: number;
  reason: number;
  hard: number;
}

const pct = (n: number, d: number) => (100 * n) / d;
const show = (name: string, t: Tally) =>
  `${name}: reasons ${pct(t.reason, t.total).toFixed(1)}% (${t.reason}/${t.total}), ` +
  `hard/soft ${pct(t.hard, t.total).toFixed(1)}% (${t.hard}/${t.total})`;

describe('bounce classifier on the labelled corpus', () => {
  const labels = readLabels();
  const frozen = JSON.parse(readFileSync(join(CORPUS, 'frozen.json'), 'utf8')) as Frozen;

  it('freezes the quarter the seeded draw chooses', () => {
    // The module's seed and share, not the file's: a file drawn again with another seed fails.
    expect(frozen).toEqual(chooseFrozen(labels));
  });

  it('agrees with the labels on reasons and hard/soft, on the built part and the frozen quarter', async () => {
    const frozenFiles = new Set(frozen.files);
    const tallies = { all: tally(), built: tally(), frozen: tally() };
    let notBounces = 0;
    let notBouncesEmpty = 0;
    for (const label of labels) {
      const results = await classifyBounce(readFileSync(join(CORPUS, 'dev', label.file), 'utf8'));
      if ('notBounce' in label) {
        notBounces += 1;
        if (results.length === 0) notBouncesEmpty += 1;
        continue;
      }
      const part = frozenFiles.has(label.file) ? tallies.frozen : tallies.built;
      for (const t of [tallies.all, part]) count(t, label, results);
    }
    console.log(
      [
        show('dev (all)', tallies.all),
        show('dev without the frozen quarter', tallies.built),
        show(`frozen quarter (${frozen.families.length} families)`, tallies.frozen),
        `not-bounces → [] ${notBouncesEmpty}/${notBounces}`,
      ].join('\n'),
    );
    for (const name of ['all', 'built', 'frozen'] as const) {
      const floor = FLOORS[name];
      const t = tallies[name];
      expect(pct(t.reason, t.total), `${name} reasons`).toBeGreaterThanOrEqual(floor.reason);
      expect(pct(t.hard, t.total), `${name} hard/soft`).toBeGreaterThanOrEqual(floor.hard);
    }
    expect(notBouncesEmpty).toBe(notBounces);
  }, 60_000);

  it('agrees with Sisimai 5.3 on the second corpus (synthesised messages)', async () => {
    // test/corpus/bounces/synth (bounces of six MTAs from their templates) and notices/, labelled by
    // Sisimai 5.3 (sisimai5.sh; 84.0% / 98.4% against 4.25's labels before), which is blind to
    // the notices of issue 17, 6 and to 37 of the templates' messages (it reads them as not
    // bounces).
    const synth = JSON.parse(readFileSync(join(CORPUS, 'labels-synth.json'), 'utf8')) as Label[];
    const t = tally();
    let unread = 0;
    let unreadHere = 0;
    for (const label of synth) {
      const results = await classifyBounce(readFileSync(join(CORPUS, label.file), 'utf8'));
      if ('notBounce' in label) {
        unread += 1;
        if (results.length > 0) unreadHere += 1;
        continue;
      }
      count(t, label, results);
    }
    console.log(
      `${show('second corpus (Sisimai 5.3 labels)', t)}; ` +
        `not bounces to Sisimai 5.3, bounces here: ${unreadHere}/${unread}`,
    );
    expect(t.total).toBeGreaterThanOrEqual(199);
    expect(pct(t.reason, t.total)).toBeGreaterThanOrEqual(FLOORS.synth.reason);
    expect(pct(t.hard, t.total)).toBeGreaterThanOrEqual(FLOORS.synth.hard);
  });

  for (const { key, file, name, total } of LABELLED)
    it(`agrees with Sisimai 5.3 on ${name}`, async () => {
      const t = await readLabelled(file, `${name} (Sisimai 5.3 labels)`);
      expect(t.total).toBe(total);
      expect(pct(t.reason, t.total)).toBeGreaterThanOrEqual(FLOORS[key].reason);
      expect(pct(t.hard, t.total)).toBeGreaterThanOrEqual(FLOORS[key].hard);
    });

  it("gives a reply in the five formats the verdict it gets in Postfix's notice (no labeller)", async () => {
    // Whatever a labeller says, a format must not change what a reply means: the share of the
    // sixth corpus's notices whose verdict (reason and hard/soft) is the same reply's in
    // replies/postfix-NN.eml. First reading: 2.7% for Google Workspace. The formats that do not
    // show the SMTP step differ by design where the step decides (userunknown or filtered).
    const files = readdirSync(join(CORPUS, 'formats')).filter((f) => f.endsWith('.eml'));
    const by = new Map<string, { n: number; same: number }>();
    for (const file of files) {
      const [, format, n] = /^(\w+)-(\d+)\.eml$/.exec(file) ?? [];
      const [r] = await classifyBounce(readFileSync(join(CORPUS, 'formats', file), 'utf8'));
      const [p] = await classifyBounce(readFileSync(join(CORPUS, 'replies', `postfix-${n}.eml`), 'utf8'));
      const b = by.get(format) ?? { n: 0, same: 0 };
      by.set(format, b);
      b.n += 1;
      if (r && p && r.reason === p.reason && r.hard === p.hard) b.same += 1;
    }
    console.log(
      `same verdict as in Postfix's notice: ${[...by].map(([f, b]) => `${f} ${pct(b.same, b.n).toFixed(1)}%`).join(', ')}`,
    );
    expect(files).toHaveLength(329);
    for (const [format, b] of by)
      expect(pct(b.same, b.n), format).toBeGreaterThanOrEqual(FLOORS.sameAsPostfix);
  });

  it('gives each recipient of a notice with several the verdict its failure gets alone', async () => {
    // synth/many.json: for each such notice (three recipients, one MTA's template), the
    // single-recipient notices whose failures it holds, in order (synth/mtas.ts).
    const many = JSON.parse(readFileSync(join(CORPUS, 'synth', 'many.json'), 'utf8')) as Record<
      string,
      string[]
    >;
    const verdict = (r: { reason: string; status: string | null; hard: boolean } | undefined) =>
      r && { reason: r.reason, status: r.status, hard: r.hard };
    let compared = 0;
    for (const [file, singles] of Object.entries(many)) {
      const several = await classifyBounce(readFileSync(join(CORPUS, 'synth', file), 'utf8'));
      expect(several, file).toHaveLength(singles.length);
      for (const [i, single] of singles.entries()) {
        const [alone] = await classifyBounce(readFileSync(join(CORPUS, 'synth', single), 'utf8'));
        expect(verdict(several[i]), `${file} #${i + 1} (${single})`).toEqual(verdict(alone));
        compared += 1;
      }
    }
    expect(compared).toBe(60);
  });
});

/** Reads a corpus labelled by label.pl, prints its figures; what Sisimai does not read is counted apart. */
async function readLabelled(file: string, name: string): Promise<Tally> {
  const labels = JSON.parse(readFileSync(join(CORPUS, file), 'utf8')) as Label[];
  const t = tally();
  let unread = 0;
  for (const label of labels) {
    if ('notBounce' in label) {
      unread += 1;
      continue;
    }
    count(t, label, await classifyBounce(readFileSync(join(CORPUS, label.file), 'utf8')));
  }
  console.log(`${show(name, t)}; not bounces to Sisimai 5.3: ${unread}`);
  return t;
}

function tally(): Tally {
  return { total: 0, reason: 0, hard: 0 };
}

function count(
  t: Tally,
  label: Exclude<Label, { notBounce: true }>,
  results: Awaited<ReturnType<typeof classifyBounce>>,
) {
  for (const expected of label.recipients) {
    t.total += 1;
    const got = results[expected.index - 1];
    if (got?.reason === expected.reason) t.reason += 1;
    if (got !== undefined && got.hard === expected.hardbounce) t.hard += 1;
  }
}
