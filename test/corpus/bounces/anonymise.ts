/**
 * Writes a corpus from another project's sample messages (fetched unchanged into a folder): the
 * same messages with the local part of every address but the mail systems' own (MAILER-DAEMON,
 * postmaster...) replaced by userN, the same N for the same address everywhere in the corpus,
 * domains kept (the provider is evidence). Run once per corpus, then label it:
 * `npx tsx test/corpus/bounces/anonymise.ts <upstream folder> <corpus folder>`, e.g. for the
 * eighth corpus `... <PHP-Bounce-Handler's eml/> test/corpus/bounces/phpbh`, then
 * `perl test/corpus/bounces/label.pl 'phpbh/*.eml' > test/corpus/bounces/labels-phpbh.json`.
 * Further upstream folders after the corpus folder are a corpus's later batches: their messages
 * are renamed after the first folder's, so the earlier batches come out as they were.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const [from, to, ...later] = process.argv.slice(2);
if (!from || !to) throw new Error('usage: anonymise.ts <upstream folder> <corpus folder> [later batches...]');

/** Local parts that name a mail system, not a person: kept, as MTAs and parsers read them. */
const SYSTEM = /^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon|daemon|root|abuse|noreply|no-reply|bounces?|double-bounce|nobody|fbl|feedbackloop|staff|scomp|complaints?)$/i;
const ADDRESS = /(?<![\w.%+-])([\w.%+-]+)@([\w-]+(?:\.[\w-]+)+)/g;

const names = new Map<string, string>();
/** userN for an address, the same N for the same address everywhere in the corpus. */
function rename(local: string, domain: string): string {
  const key = `${local.toLowerCase()}@${domain.toLowerCase()}`;
  let name = names.get(key);
  if (!name) {
    name = `user${names.size + 1}`;
    names.set(key, name);
  }
  return name;
}
/** An address in a URL, "@" percent-encoded (mailto: and list links): "Unsubscribe%20bob%40example.com". */
const ENCODED = /(?<=^|[^\w.+%-]|%[0-9A-F]{2})([\w.+-]+)%40([\w-]+(?:\.[\w-]+)+)/g;
/** Dada Mail's subscription links name the subscriber as a path, "/s/<list>/bob/example.com/" (and /u/, /ur/). */
const DADA_PATH = /(\/(?:s|ur?)\/[\w-]+\/)([\w.+-]+)\/([\w-]+(?:(?:\.|=2E)[\w-]+)+)(?=\/)/g;

const sorted = (folder: string) =>
  readdirSync(folder)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((file) => ({ folder, file }));
const files = [from, ...later].flatMap(sorted);
const written = new Set<string>();
for (const { folder, file } of files) {
  const text = readFileSync(`${folder}/${file}`, 'latin1');
  const out = text
    .replace(ADDRESS, (whole, local: string, domain: string) =>
      SYSTEM.test(local) ? whole : `${rename(local, domain)}@${domain}`,
    )
    .replace(ENCODED, (whole, local: string, domain: string) =>
      SYSTEM.test(local) ? whole : `${rename(local, domain)}%40${domain}`,
    )
    .replace(DADA_PATH, (_, path: string, local: string, domain: string) =>
      `${path}${rename(local, domain.replaceAll('=2E', '.'))}/${domain}`,
    );
  // Every sample becomes a .eml file; PHP-Bounce-Handler has both "vac1" and "vac1.eml", and .txt files.
  const name = file.endsWith('.eml') ? file : file.endsWith('.txt') ? `${file.slice(0, -4)}-txt.eml` : `${file}-raw.eml`;
  // A later batch's file of the same name would overwrite an earlier one's without a word.
  if (written.has(name)) throw new Error(`${folder}/${file}: ${name} is written already`);
  written.add(name);
  writeFileSync(`${to}/${name}`, out, 'latin1');
}
console.log(`${files.length} messages, ${names.size} addresses renamed`);
