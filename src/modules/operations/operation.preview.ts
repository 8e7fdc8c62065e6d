import type { SmsInfo } from '../messaging/sms.js';
import { smsInfo } from '../messaging/sms.js';
import { compileTemplate, type MergeData } from '../messaging/template.js';
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
 * The one renderer of an operation's message for one contact: the preview, the test send and (next
 * issue) the engine all call it, so a preview is what is delivered. Templates are compiled here per
 * call; the engine will keep the compiled parts for a whole send. The text part, when not given,
 * is derived from the HTML template first (htmlToText keeps Liquid spans) and then rendered plain.
 */
export function renderOperationMessage(
  kind: OperationKind,
  content: OperationContent,
  data: MergeData,
): RenderedMessage {
  const plain = (part: string, source: string) => compileTemplate(part, source, { html: false }).render(data);
  if (kind === 'SMS') {
    const c = content as SmsContent;
    const text = plain('text', c.text ?? '');
    return { kind, sms: { text, senderId: c.senderId ?? '', ...smsInfo(text) } };
  }
  const c = content as EmailContent;
  return {
    kind,
    email: {
      subject: plain('subject', c.subject ?? ''),
      preheader: c.preheader == null ? null : plain('preheader', c.preheader),
      html: compileTemplate('html', c.html ?? '', { html: true }).render(data),
      text: plain('text', textPart(c) ?? ''),
      from: { name: c.fromName, address: c.fromEmail ?? '' },
      replyTo: c.replyTo,
    },
  };
}
