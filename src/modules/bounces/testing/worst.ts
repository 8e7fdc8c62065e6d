/**
 * Inputs of about 1 MiB (the body limit) shaped against the classifier's costs (issue 17, 5): each
 * one aims at a place where work could grow with recipients × text, or where a regex could
 * rescan a long run. For classifier.cost.test.ts and bench/bounces.ts.
 */
import { costlyBounce } from './costly.js';

export const MIB = 1024 * 1024;

const head = (extra: string[] = []) =>
  [
    'From: Mail Delivery System <MAILER-DAEMON@mx.example.org>',
    'To: sender@example.net',
    'Subject: Undelivered Mail Returned to Sender',
    ...extra,
  ].join('\n');

/** Repeats `unit` (built from its index) until the text reaches `size` characters. */
function fill(size: number, unit: (i: number) => string): string {
  const out: string[] = [];
  let n = 0;
  for (let i = 0; n < size; i++) {
    const u = unit(i);
    out.push(u);
    n += u.length;
  }
  return out.join('').slice(0, size);
}

/** Words that start many phrase rules ("user ... does not exist", "mailbox ... full"), never ending one. */
const BAIT = 'user mailbox account host recipient mail from: sender moved to reject mail from x said ';

/** The opening of Postfix's notice (bounce(8)'s template). */
const POSTFIX_INTRO =
  "I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.";

function sharedTail(): string {
  const rcpts = Array.from({ length: 1000 }, (_, i) => `<user${i}@example${i % 7}.com>`).join('\n');
  return `${head()}\n\n${rcpts}\n\n${fill(MIB - rcpts.length - 200, () => 'The remote server refused the message. ')}`;
}

export const WORST_CASES: Record<string, () => string> = {
  /** 1,000 recipients sharing one explanation of about 200 KB (the issue's 24 s case). */
  sharedExplanation: costlyBounce,

  /** 1,000 recipients, each on its own line, then one long explanation none of them owns. */
  sharedTail: () => sharedTail(),

  /**
   * A DSN with 1,000 recipient blocks with a protocol-class status (each looked up in the
   * transcript), after 100 KB of human-readable text naming them; the returned message pads it.
   */
  manyDsnBlocks: () => dsnBlocks(`550 5.5.0 ${'refused '.repeat(10)}`),

  /**
   * The same with Diagnostic-Codes that hold the reply code alone (Google Workspace's): each
   * recipient's reply is then looked for in the text that names it.
   */
  terseDsnBlocks: () => dsnBlocks('550'),

  /**
   * sharedTail without the message's headers: a notice's text alone is read a second time, as
   * the body of a message that has none.
   */
  headerless: () => sharedTail().replace(/^[\s\S]*?\n\n/, `${POSTFIX_INTRO}\n\n`),

  /** One line of 1 MiB made of phrase-rule openings, in a bounce about one recipient. */
  longLine: () => `${head()}\n\n<bob@example.com>: ${fill(MIB - 200, () => BAIT)}\n`,

  /** One line of 1 MiB without any space nor "@" after "mail from:". */
  longWord: () => `${head()}\n\n<bob@example.com>: mail from:${'a'.repeat(MIB - 200)}\n`,

  /** 1,000 recipients, each indented one space deeper: every segment runs to the end. */
  deepNesting: () => {
    const rcpts = Array.from({ length: 1000 }, (_, i) => `${' '.repeat(i)}user${i}@example.com ${BAIT}`);
    const body = rcpts.join('\n');
    return `${head()}\n\n${body}\n${fill(MIB - body.length - 200, () => `${' '.repeat(1001)}${BAIT}\n`)}`;
  },

  /** A header block of 200 KB (Received lines), then a bounce padded to 1 MiB. */
  hugeHeaders: () => {
    const received = fill(200_000, (i) => `Received: from h${i}.example.org by mx.example.org; ${BAIT}\n`);
    return `${head()}\n${received}\n\n<bob@example.com>: 550 5.1.1 ${fill(MIB - 200_400, () => BAIT)}\n`;
  },

  /**
   * As many MIME parts as the head the classifier reads holds (mailparser refuses more than 1,000),
   * each a text/plain part naming a recipient.
   */
  manyParts: () => {
    const part = (i: number) =>
      `--B\nContent-Type: text/plain\n\n<user${i % 1000}@example.com>: 550 5.1.1 ${BAIT}${BAIT}${BAIT}\n`;
    const parts = fill(MIB - 400, part);
    return `${head(['MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="B"'])}\n\n${parts}\n--B--\n`;
  },

  /** Attachments in a charset mailparser leaves to the classifier (each decoded through it). */
  manyEncodedParts: () => {
    const jis = Buffer.from(`\x1b$B$3$s$K$A$O\x1b(B <user@example.com>: 550 5.1.1 ${BAIT}`, 'latin1');
    const part = (i: number) =>
      `--B\nContent-Type: text/plain; charset=ISO-2022-JP\nContent-Disposition: attachment; filename="e${i}.txt"\nContent-Transfer-Encoding: base64\n\n${jis.toString('base64')}\n`;
    const parts = fill(MIB - 400, part);
    return `${head(['MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="B"'])}\n\n${parts}\n--B--\n`;
  },

  /** message/rfc822 parts nested 200 deep, each a bounce with a few recipients. */
  nestedMessages: () => {
    let inner = `${head()}\n\n<bob@example.com>: 550 5.1.1 user unknown\n`;
    for (let depth = 0; depth < 200 && inner.length < MIB / 2; depth++) {
      inner = [
        head(['MIME-Version: 1.0', `Content-Type: multipart/report; boundary="B${depth}"`]),
        '',
        `--B${depth}`,
        'Content-Type: text/plain',
        '',
        fill(4000, (i) => `<u${i}.${depth}@example.com>: ${BAIT}\n`),
        `--B${depth}`,
        'Content-Type: message/rfc822',
        '',
        inner,
        `--B${depth}--`,
        '',
      ].join('\n');
    }
    return inner.slice(0, MIB);
  },
};

/** A DSN of 1,000 recipient blocks with the given Diagnostic-Code, after text naming them. */
function dsnBlocks(diag: string): string {
  const blocks = Array.from(
    { length: 1000 },
    (_, i) =>
      `Final-Recipient: rfc822; user${i}@example.com\nAction: failed\nStatus: 5.5.0\nDiagnostic-Code: smtp; ${diag}\n`,
  ).join('\n');
  const human = fill(60_000, (i) => `<user${i % 1000}@example.com>: ${BAIT}\n`);
  const parts = [
    head(['MIME-Version: 1.0', 'Content-Type: multipart/report; report-type=delivery-status; boundary="B"']),
    '',
    '--B',
    'Content-Type: text/plain',
    '',
    human,
    '--B',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.example.org',
    '',
    blocks,
    '--B',
    'Content-Type: message/rfc822',
    '',
    head(),
    '',
  ].join('\n');
  return `${parts}${fill(MIB - parts.length - 10, () => BAIT)}\n--B--\n`;
}
