/**
 * RFC 3464 delivery-status fields ("Final-Recipient: rfc822; a@b", "Status: 5.1.1", ...) found in
 * a text: the message/delivery-status part of a DSN, or the same fields pasted by MTAs in a
 * plain-text bounce.
 */

export interface DsnRecipient {
  recipient: string | null;
  action: string | null;
  status: string | null;
  diagnosticType: string | null;
  diagnostic: string | null;
  remoteMta: string | null;
  /** PowerMTA's own category of the failure (X-PowerMTA-BounceCategory), lower-cased. */
  category: string | null;
}

const PER_RECIPIENT = new Set([
  'final-recipient',
  'original-recipient',
  'x-actual-recipient',
  'action',
  'status',
  'diagnostic-code',
  'remote-mta',
  'last-attempt-date',
  'will-retry-until',
  'x-remote-mta',
  'x-powermta-bouncecategory',
]);

/** Unfolds header-style continuation lines. */
function unfold(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.replace(/\r\n?/g, '\n').split('\n')) {
    if (/^[ \t]+\S/.test(raw) && out.length > 0 && out[out.length - 1] !== '') {
      out[out.length - 1] += ` ${raw.trim()}`;
    } else {
      out.push(raw.trimEnd());
    }
  }
  return out;
}

/** Extracts an address from a field value such as "rfc822; <Bob@Example.com>". */
export function addressOf(value: string | null | undefined): string | null {
  if (!value) return null;
  const v = value.replace(/^\s*[\w-]+\s*;/, '');
  // Matches start only where a run of address characters starts (the lookbehind): a long value
  // without "@" is then scanned once, not once per position.
  const m = /<?(?<![^\s<>"';,()[\]])([^\s<>"';,()[\]]+@[^\s<>"';,()[\]]+?)>?(?=[\s>"';,()[\]]|$)/.exec(v);
  return m ? m[1].toLowerCase().replace(/\.$/, '') : null;
}

/** Parses every per-recipient block of delivery-status fields in a text. */
export function parseDsnFields(text: string): DsnRecipient[] {
  const out: DsnRecipient[] = [];
  let cur: Record<string, string> | null = null;
  const flush = () => {
    if (!cur) return;
    // The address the sender gave (RFC 3464, 2.3.1) before the one the reporting MTA tried: an
    // alias or a forward leaves the latter unknown to whoever sent (Sun's "user@sims-ms-daemon",
    // a forwarding target), and the former is what a contact is found by.
    const recipient =
      addressOf(cur['original-recipient']) ?? addressOf(cur['final-recipient'] ?? cur['x-actual-recipient']);
    if (recipient || cur.status || cur['diagnostic-code']) {
      const diag = cur['diagnostic-code'] ?? null;
      const typeMatch = diag ? /^\s*([\w-]+)\s*;\s*/.exec(diag) : null;
      out.push({
        recipient,
        action: cur.action?.trim().toLowerCase().split(/[\s(]/)[0] ?? null,
        status: cur.status?.trim() ?? null,
        diagnosticType: typeMatch ? typeMatch[1].toLowerCase() : null,
        diagnostic: diag ? diag.slice(typeMatch ? typeMatch[0].length : 0).trim() || null : null,
        remoteMta: cur['remote-mta'] ?? null,
        category: cur['x-powermta-bouncecategory']?.trim().toLowerCase() || null,
      });
    }
    cur = null;
  };
  for (const line of unfold(text)) {
    const m = /^([A-Za-z][\w-]*)\s*:\s*(.*)$/.exec(line);
    if (!m) {
      if (line.trim() === '') flush();
      continue;
    }
    const name = m[1].toLowerCase();
    if (!PER_RECIPIENT.has(name)) continue;
    const starts = name === 'final-recipient' || name === 'original-recipient';
    if (cur && starts && cur[name] !== undefined) {
      flush();
    }
    cur ??= {};
    if (cur[name] === undefined) cur[name] = m[2];
  }
  flush();
  // Blocks that only repeat the original recipient of the next one, and empty blocks.
  return out.filter((r) => r.recipient || r.status || r.diagnostic);
}

/** Fields of a message/feedback-report part (ARF, RFC 5965). */
export function parseFeedbackFields(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of unfold(text)) {
    const m = /^([A-Za-z][\w-]*)\s*:\s*(.*)$/.exec(line);
    if (m && fields[m[1].toLowerCase()] === undefined) fields[m[1].toLowerCase()] = m[2].trim();
  }
  return fields;
}
