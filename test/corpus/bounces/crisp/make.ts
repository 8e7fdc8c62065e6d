/**
 * Writes the seventh corpus: each notice text of crisp-oss/email-bounce-parser's test fixtures
 * (fixtures/, unchanged) in the message its own wording says sent it, so that a labeller and the
 * classifier read a whole message: `npx tsx test/corpus/bounces/crisp/make.ts`, then
 * `perl test/corpus/bounces/label.pl 'crisp/*.eml' > test/corpus/bounces/labels-crisp.json`.
 *
 * The fixtures hold a notice's text part alone. Every MTA below writes a fixed From and Subject
 * (Postfix's bounce(8) template, Exim's deliver.c, Gmail's and Exchange Online's notices), so
 * the headers are chosen by the notice's first words, never by the reply it carries; the text
 * is the fixture's, byte for byte.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const DIR = import.meta.dirname;

interface Sender {
  from: string;
  subject: string;
}

function senderOf(text: string): Sender | null {
  const postfix = /^This is the mail system at host (\S+?)\.?$/m.exec(text);
  if (postfix) {
    const warning = /THIS IS A WARNING ONLY/.test(text);
    return {
      from: `MAILER-DAEMON@${postfix[1]} (Mail Delivery System)`,
      subject: warning ? 'Delayed Mail (still being retried)' : 'Undelivered Mail Returned to Sender',
    };
  }
  if (/^This message was created automatically by mail delivery software\./m.test(text)) {
    const warning = /has not yet been delivered|delayed/i.test(text.slice(0, 600));
    return {
      from: 'Mail Delivery System <Mailer-Daemon@mx.example.net>',
      subject: warning ? 'Warning: message delayed' : 'Mail delivery failed: returning message to sender',
    };
  }
  if (/^\*\* (?:Address not found|Message not delivered|Delivery incomplete|Message blocked) \*\*$/m.test(text)) {
    const delay = /\*\* Delivery incomplete \*\*/.test(text);
    return {
      from: 'Mail Delivery Subsystem <mailer-daemon@googlemail.com>',
      subject: `Delivery Status Notification (${delay ? 'Delay' : 'Failure'})`,
    };
  }
  // Exchange Online, in English or in the sender's language (Dutch: "Onbestelbaar").
  if (/^Delivery has failed to these recipients or groups:|rejected your message to the following e-?mail addresses:|^Your message to \S+ couldn't be delivered\./m.test(text)) {
    return { from: 'Microsoft Outlook <postmaster@outlook.com>', subject: 'Undeliverable: Hello' };
  }
  if (/^Uw bericht kan niet worden bezorgd/m.test(text)) {
    return { from: 'Microsoft Outlook <postmaster@outlook.com>', subject: 'Onbestelbaar: Hello' };
  }
  // Sendmail's savemail.c.
  if (/^The original message was received at /m.test(text) && /^ +----- Transcript of session follows -----$/m.test(text)) {
    return { from: 'Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>', subject: 'Returned mail: see transcript for details' };
  }
  // MessageLabs (Symantec Email Security.cloud).
  if (/^This is the mail delivery agent at Symantec Email Security\.cloud\./m.test(text)) {
    return { from: 'MAILER-DAEMON@messagelabs.com', subject: 'Mail Delivery Failure' };
  }
  // A notice that does not say which software wrote it: the generic words of one.
  if (/^The following message to <\S+> was undeliverable\./m.test(text)) {
    return { from: 'Mail Delivery System <postmaster@mx.example.net>', subject: 'Undeliverable mail' };
  }
  return null;
}

const files = readdirSync(`${DIR}/fixtures`).filter((f) => f.endsWith('.txt')).sort();
const unknown: string[] = [];
for (const file of files) {
  const text = readFileSync(`${DIR}/fixtures/${file}`, 'utf8');
  const sender = senderOf(text);
  if (!sender) {
    unknown.push(file);
    continue;
  }
  const headers = [
    `From: ${sender.from}`,
    'To: sender@example.com',
    `Subject: ${sender.subject}`,
    'Date: Sun, 1 Jan 2023 00:00:00 +0000',
    `Message-Id: <${file.replace(/\.txt$/, '')}@crisp.example.com>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    'Auto-Submitted: auto-replied',
  ];
  writeFileSync(`${DIR}/${file.replace(/\.txt$/, '.eml')}`, `${headers.join('\n')}\n\n${text}\n`);
}
if (unknown.length > 0) console.log(`no sender known for: ${unknown.join(', ')}`);
