import type { AuthedContext } from '../../context.js';
import { notFound } from '../../shared/errors.js';
import { isRowId } from '../../shared/ids.js';
import type { SmsInfo } from '../messaging/sms.js';
import { smsInfo } from '../messaging/sms.js';
import { compileTemplate, contactMergeData, type MergeData } from '../messaging/template.js';
import { textPart } from './operation.content.js';
import type { EmailContent, OperationContent, OperationKind, SmsContent } from './operation.entity.js';

/** An email exactly as one contact receives it (before the engine adds tracking and unsubscribe). */
export interface RenderedEmail {
  subject: string;
  preheader: string | null;
  html: string;
  text: string;
  from: { name: string | null; address: string };
  replyTo: string | null;
}

export interface RenderedSms extends SmsInfo {
  text: string;
  senderId: string;
}

export type RenderedMessage = { kind: 'EMAILING'; email: RenderedEmail } | { kind: 'SMS'; sms: RenderedSms };

/**
 * The one renderer of an operation's message for one contact: the preview, the test send and the
 * sending engine all call it, so a preview is what is delivered. The text part, when not given, is
 * derived from the HTML template first (htmlToText keeps Liquid spans) and then rendered plain.
 */
export function renderOperationMessage(
  kind: OperationKind,
  content: OperationContent,
  data: MergeData,
): RenderedMessage {
  return compileOperationMessage(kind, content)(data);
}

/** The renderer with its templates parsed once: what the engine keeps for a whole send. */
export function compileOperationMessage(
  kind: OperationKind,
  content: OperationContent,
): (data: MergeData) => RenderedMessage {
  const plain = (part: string, source: string) => compileTemplate(part, source, { html: false });
  if (kind === 'SMS') {
    const c = content as SmsContent;
    const text = plain('text', c.text ?? '');
    return (data) => {
      const filled = text.render(data);
      return { kind, sms: { text: filled, senderId: c.senderId ?? '', ...smsInfo(filled) } };
    };
  }
  const c = content as EmailContent;
  const subject = plain('subject', c.subject ?? '');
  const preheader = c.preheader == null ? null : plain('preheader', c.preheader);
  const html = compileTemplate('html', c.html ?? '', { html: true });
  const text = plain('text', textPart(c) ?? '');
  return (data) => ({
    kind,
    email: {
      subject: subject.render(data),
      preheader: preheader?.render(data) ?? null,
      html: html.render(data),
      text: text.render(data),
      from: { name: c.fromName, address: c.fromEmail ?? '' },
      replyTo: c.replyTo,
    },
  });
}

/**
 * The merge data of one contact of the account: its standard and custom fields and every score
 * of the account by name ("0" where the contact has no value, as the criteria read it).
 */
export async function mergeDataOf(ctx: AuthedContext, contactId: string): Promise<MergeData> {
  const { accountId } = ctx.viewer;
  const rows = isRowId(contactId)
    ? await ctx.em.execute<Record<string, unknown>[]>(
        'select * from contact where account_id = ? and id = ?',
        [accountId, contactId],
      )
    : [];
  if (!rows[0]) throw notFound('Contact');
  const scores = await ctx.em.execute<{ name: string; value: string }[]>(
    `select s.name, coalesce(cs.value, 0)::text as value from score s
       left join contact_score cs on cs.score_id = s.id and cs.contact_id = ?
      where s.account_id = ? order by s.created_at, s.id`,
    [contactId, accountId],
  );
  return {
    contact: contactMergeData(rows[0] as never),
    scores: Object.fromEntries(scores.map((s) => [s.name, s.value])),
  };
}
