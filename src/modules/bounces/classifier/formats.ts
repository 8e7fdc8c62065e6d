/**
 * Special formats: ARF feedback reports (RFC 5965), Amazon SES JSON notifications, auto-replies
 * (RFC 3834) and the detection of "is this a bounce at all".
 */
import { addressOf, parseFeedbackFields } from './dsn.js';
import { isListRefusal, JAPANESE_FAILURE, LIST_REFUSALS } from './notices.js';
import { addressesIn, headerMap, type ParsedBounce } from './parse.js';

export interface FeedbackRecipient {
  recipient: string | null;
  feedbackType: string;
  diagnostic: string | null;
}

/** Whether the message is an ARF feedback report. */
export function isFeedbackReport(mail: ParsedBounce, raw: string): boolean {
  return (
    mail.reportType === 'feedback-report' ||
    mail.parts.some((p) => p.contentType === 'message/feedback-report') ||
    hotmailComplaintOf(mail, raw) !== null
  );
}

/**
 * Hotmail's complaints before ARF (its Junk Mail Reporting Program): "complaint about message
 * from <ip>" from staff@hotmail.com, the reported message attached with the complaining
 * recipient in X-HmXmrOriginalRecipient. That recipient, or null when it is not such a report.
 * The field is read in the raw message: the attached message is inline, and the MIME parser
 * folds it into the text with its main headers only.
 */
function hotmailComplaintOf(mail: ParsedBounce, raw: string): string | null {
  if (!/^complaint about message from\b/i.test(mail.subject)) return null;
  if (!(mail.headers.get('from') ?? []).some((f) => /\bstaff@hotmail\.com\b/i.test(f))) return null;
  const field = /^x-hmxmroriginalrecipient:[ \t]*(\S[^\n]{0,300})/im.exec(raw)?.[1];
  return addressesIn(field ?? '')[0] ?? null;
}

/** Recipients of an ARF report: Original-Rcpt-To fields, else the To of the reported message. */
export function feedbackRecipients(mail: ParsedBounce, raw: string): FeedbackRecipient[] {
  const report = mail.parts.find((p) => p.contentType === 'message/feedback-report');
  const fields = report ? parseFeedbackFields(report.text) : {};
  const feedbackType = (fields['feedback-type'] ?? 'abuse').toLowerCase();
  const diagnostic = mail.text.replace(/\s+/g, ' ').trim().slice(0, 1000) || null;
  const rcpts = report
    ? [...report.text.matchAll(/^original-rcpt-to\s*:\s*(.+)$/gim)]
        .map((m) => addressOf(m[1]))
        .filter(isString)
    : [];
  const hotmail = report ? null : hotmailComplaintOf(mail, raw);
  if (hotmail) rcpts.push(hotmail);
  if (rcpts.length === 0) {
    const original = mail.parts.find(
      (p) => p.contentType === 'message/rfc822' || p.contentType === 'text/rfc822-headers',
    );
    if (original) {
      const headers = headerMap(original.text);
      rcpts.push(...addressesIn((headers.get('to') ?? []).join(', ')));
    }
  }
  if (rcpts.length === 0) return [{ recipient: null, feedbackType, diagnostic }];
  return [...new Set(rcpts)].map((recipient) => ({ recipient, feedbackType, diagnostic }));
}

function isString(v: string | null): v is string {
  return v !== null;
}

export interface SesRecipient {
  recipient: string | null;
  status: string | null;
  action: string | null;
  diagnostic: string | null;
  kind: 'bounce' | 'complaint' | 'delivery';
  feedbackType: string | null;
}

type Json = Record<string, unknown>;

const asObject = (v: unknown): Json | null =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
const asString = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Amazon SES notifications (possibly wrapped in an SNS envelope), or null. */
export function sesRecipients(text: string): SesRecipient[] | null {
  if (!/"notificationType"|"eventType"/.test(text)) return null;
  const json = text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1);
  let data: Json | null = null;
  // Notifications relayed by mail may have their long lines folded: unfold on failure.
  for (const candidate of [json, json.replace(/\r?\n[ \t]/g, '')]) {
    try {
      data = asObject(JSON.parse(candidate));
      break;
    } catch {
      data = null;
    }
  }
  const inner = asString(data?.Message);
  if (inner) {
    try {
      data = asObject(JSON.parse(inner));
    } catch {
      return null;
    }
  }
  if (!data) return null;
  const type = String(data.notificationType ?? data.eventType ?? '').toLowerCase();
  const list = (v: unknown): Json[] =>
    Array.isArray(v) ? v.map(asObject).filter((o): o is Json => o !== null) : [];
  if (type === 'bounce') {
    const bounce = asObject(data.bounce);
    return list(bounce?.bouncedRecipients).map((r) => ({
      recipient: asString(r.emailAddress)?.toLowerCase() ?? null,
      status: asString(r.status),
      action: asString(r.action),
      diagnostic: asString(r.diagnosticCode),
      kind: 'bounce',
      feedbackType: null,
    }));
  }
  if (type === 'complaint') {
    const complaint = asObject(data.complaint);
    return list(complaint?.complainedRecipients).map((r) => ({
      recipient: asString(r.emailAddress)?.toLowerCase() ?? null,
      status: null,
      action: null,
      diagnostic: null,
      kind: 'complaint',
      feedbackType: asString(complaint?.complaintFeedbackType) ?? 'abuse',
    }));
  }
  if (type === 'delivery') {
    const delivery = asObject(data.delivery);
    const recipients = Array.isArray(delivery?.recipients) ? delivery.recipients : [];
    return recipients.map((r) => ({
      recipient: asString(r)?.toLowerCase() ?? null,
      status: /\b2\.\d\.\d\b/.exec(asString(delivery?.smtpResponse) ?? '')?.[0] ?? '2.0.0',
      action: 'delivered',
      diagnostic: asString(delivery?.smtpResponse),
      kind: 'delivery',
      feedbackType: null,
    }));
  }
  return [];
}

const ROBOT_FROM =
  /^(?:mailer-daemon|mail-daemon|postmaster|mail delivery|mailerdaemon|daemon|nobody|root)\b/i;
const BOUNCE_SUBJECT =
  /undeliver|undelivered|delivery (?:status|failure|failed|notification|has failed|problem)|failure notice|returned mail|mail delivery|could not be delivered|not delivered|non-?delivery|delivery error|rejected|bounce|warning: could not send|mail system error|fehlgeschlagen|unzustellbar|non remis|no entregado|エラー|不達|配信|недостав|error/i;
const BOUNCE_TEXT =
  /could not be delivered|couldn't be delivered|cannot be delivered|unable to deliver|undeliverable|delivery (?:to the following|has failed|failed|problems|error)|was not delivered|wasn't able to deliver|failed permanently|permanent (?:error|fatal)|error delivering|rejected by|following address(?:es)?(?: had| failed)|did not reach|remote (?:host|server) said|not be delivered|returned to sender|non remis|the following recipients|message could not|delivery to .* failed|not a member|group .* may not exist/i;

/** Whether a non-DSN message looks like a bounce (as opposed to an ordinary message). */
export function looksLikeBounce(mail: ParsedBounce, explanation: string): boolean {
  const from = (mail.headers.get('from') ?? []).join(' ');
  const returnPath = (mail.headers.get('return-path') ?? []).join(' ');
  if (mail.headers.has('x-failed-recipients')) return true;
  if (
    /mailer-daemon|postmaster|mail delivery|mdaemon|<>/i.test(`${from} ${returnPath}`) ||
    ROBOT_FROM.test(from)
  ) {
    return true;
  }
  if (
    BOUNCE_SUBJECT.test(mail.subject) &&
    (BOUNCE_TEXT.test(explanation) || /\b[45]\d\d\b/.test(explanation))
  ) {
    return true;
  }
  if (isListRefusal(mail, explanation)) return true;
  if (JAPANESE_FAILURE.test(explanation) && /@/.test(explanation)) return true;
  const hasReply = /(?:^|\n)\s*[45]\d\d[\s-]|#?\b[45]\.\d\.\d/.test(explanation);
  return (
    hasReply &&
    (BOUNCE_TEXT.test(explanation) || /error|fail|reject|invalid|unknown|denied/i.test(explanation))
  );
}

/** Whether the message comes from a mail system (MAILER-DAEMON, postmaster, bounce subject). */
export function isFromMailSystem(mail: ParsedBounce): boolean {
  const from = (mail.headers.get('from') ?? []).join(' ');
  return (
    /mailer-daemon|postmaster|mail delivery|mdaemon/i.test(from) ||
    ROBOT_FROM.test(from) ||
    BOUNCE_SUBJECT.test(mail.subject)
  );
}

/** Whether a text reports a delivery failure (wording or an SMTP error code). */
export function hasFailureWording(text: string): boolean {
  return (
    BOUNCE_TEXT.test(text) ||
    LIST_REFUSALS.test(text) ||
    JAPANESE_FAILURE.test(text) ||
    /(?:^|\s)[45]\d\d[\s-]|\b[45]\.\d\.\d/.test(text)
  );
}

/** Whether the message is an automatic reply (RFC 3834 or common vendor markers). */
export function isAutoReply(mail: ParsedBounce): boolean {
  const h = (name: string) => (mail.headers.get(name) ?? []).join(' ').toLowerCase();
  if (h('auto-submitted').startsWith('auto-replied')) return true;
  if (mail.headers.has('x-autoreply') || mail.headers.has('x-autorespond')) return true;
  if (h('x-apple-action').includes('vacation')) return true;
  if (/auto[_-]?reply/.test(h('precedence'))) return true;
  return /^(?:auto(?:matic)?[ -]?reply|out of (?:the )?office|away\b|absence|abwesenheit|r[ée]ponse automatique|vacation)/i.test(
    mail.subject.trim(),
  );
}
