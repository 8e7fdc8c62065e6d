import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput } from '../../shared/errors.js';
import { loadFields } from '../contacts/fields.js';
import { checkSenderId, hasOptOut, type SmsInfo, smsInfo } from '../messaging/sms.js';
import { checkTemplate, type MergeEnv, TEMPLATE_LIMITS } from '../messaging/template.js';
import { htmlToText } from '../messaging/text.js';
import { isVerifiedSender } from '../senders/sender.service.js';
import type {
  Audience,
  EmailContent,
  OperationContent,
  OperationKind,
  SmsContent,
} from './operation.entity.js';

/**
 * What an operation's content must be, and when.
 * - At save (create, update), every part given is checked: lengths, addresses, merge tags
 *   (checkTemplate: unknown field or score, parse errors with line and column), the from address
 *   among the account's VERIFIED senders, the SMS sender id, and the SMS opt-out mention (every
 *   SMS here is marketing). A draft may miss parts: it is work in progress.
 * - At submission and validation (checkComplete) the content must be complete: an Emailing needs
 *   subject, fromEmail (still verified) and html; an SMS text and senderId; and an audience.
 */

export const LIMITS = {
  name: 200,
  subject: 255,
  preheader: 255,
  fromName: 200,
  email: 320,
  html: TEMPLATE_LIMITS.sourceChars,
  text: TEMPLATE_LIMITS.sourceChars,
  smsText: 1_600,
} as const;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const emptyEmail = (): EmailContent => ({
  subject: null,
  preheader: null,
  fromName: null,
  fromEmail: null,
  replyTo: null,
  html: null,
  text: null,
});
export const emptySms = (): SmsContent => ({ text: null, senderId: null });

/** Merge tags an account's templates may name: its fields (standard and custom) and score names. */
export async function loadMergeEnv(em: EntityManager, accountId: string): Promise<MergeEnv> {
  const [fields, scores] = await Promise.all([
    loadFields(em, accountId),
    em.execute<{ name: string; n: number }[]>(
      'select name, count(*)::int as n from score where account_id = ? group by name',
      [accountId],
    ),
  ]);
  return {
    fields: new Map([...fields].map(([k, f]) => [k, { name: f.name, type: f.type }])),
    scoreNames: new Set(scores.map((s) => s.name)),
    duplicateScoreNames: new Set(scores.filter((s) => s.n > 1).map((s) => s.name)),
  };
}

function text(field: string, raw: string | null | undefined, max: number): string | null {
  if (raw == null) return null;
  if (raw.length > max) throw badInput(`${field} must have at most ${max} characters`, { field });
  return raw.trim() === '' ? null : raw;
}

function address(field: string, raw: string | null | undefined): string | null {
  const v = text(field, raw, LIMITS.email)?.trim() ?? null;
  if (v !== null && !EMAIL.test(v))
    throw badInput(`${field}: ${JSON.stringify(v)} is not an email address`, { field });
  return v;
}

type Patch<T> = { [K in keyof T]?: T[K] | null };

/** `key in patch`: given (null clears); absent: unchanged. */
const pick = <T extends object>(patch: Patch<T>, before: T, key: keyof T) =>
  (key in patch ? patch[key] : before[key]) as T[keyof T] | null | undefined;

/** Applies and checks an email content patch at save; returns the new content. */
export async function saveEmail(
  em: EntityManager,
  accountId: string,
  env: () => Promise<MergeEnv>,
  before: EmailContent,
  patch: Patch<EmailContent>,
): Promise<EmailContent> {
  const next: EmailContent = {
    subject: text('subject', pick(patch, before, 'subject') as string | null, LIMITS.subject),
    preheader: text('preheader', pick(patch, before, 'preheader') as string | null, LIMITS.preheader),
    fromName: text('fromName', pick(patch, before, 'fromName') as string | null, LIMITS.fromName),
    fromEmail: address('fromEmail', pick(patch, before, 'fromEmail') as string | null),
    replyTo: address('replyTo', pick(patch, before, 'replyTo') as string | null),
    html: text('html', pick(patch, before, 'html') as string | null, LIMITS.html),
    text: text('text', pick(patch, before, 'text') as string | null, LIMITS.text),
  };
  if ('fromEmail' in patch && next.fromEmail && !(await isVerifiedSender(em, accountId, next.fromEmail)))
    throw notVerified(next.fromEmail);
  const merge = await env();
  for (const part of ['subject', 'preheader', 'html', 'text'] as const) {
    const source = next[part];
    if (source != null && part in patch) checkTemplate(part, source, merge);
  }
  return next;
}

const notVerified = (email: string) =>
  badInput(
    `fromEmail: ${email} is not a verified sender of the account (addSender, then its confirmation link)`,
    {
      field: 'fromEmail',
    },
  );

/** Applies and checks an SMS content patch at save. */
export async function saveSms(
  env: () => Promise<MergeEnv>,
  before: SmsContent,
  patch: Patch<SmsContent>,
): Promise<SmsContent> {
  const next: SmsContent = {
    text: text('text', pick(patch, before, 'text') as string | null, LIMITS.smsText),
    senderId: (pick(patch, before, 'senderId') as string | null)?.trim() || null,
  };
  if (next.senderId !== null && 'senderId' in patch) checkSenderId(next.senderId);
  if (next.text !== null && 'text' in patch) {
    checkTemplate('text', next.text, await env());
    if (!hasOptOut(next.text))
      throw badInput('text: a marketing SMS must carry an opt-out mention such as "STOP 36111"', {
        field: 'text',
      });
  }
  return next;
}

/** CONFLICT-free completeness: BAD_USER_INPUT naming every missing part, for submit and validate. */
export async function checkComplete(
  em: EntityManager,
  accountId: string,
  kind: OperationKind,
  content: OperationContent,
  audience: Audience,
): Promise<void> {
  const missing: string[] = [];
  if (!audience.allContacts && audience.segmentIds.length === 0)
    missing.push('audience (segments or allContacts)');
  await checkMessage(em, accountId, kind, content, missing);
}

/**
 * The message alone is complete (a test send needs no audience): BAD_USER_INPUT naming every
 * missing part, after those already in `missing`; a from address no longer verified is refused.
 */
export async function checkMessage(
  em: EntityManager,
  accountId: string,
  kind: OperationKind,
  content: OperationContent,
  missing: string[] = [],
): Promise<void> {
  if (kind === 'EMAILING') {
    const c = content as EmailContent;
    for (const k of ['subject', 'fromEmail', 'html'] as const) if (!c[k]) missing.push(k);
    if (c.fromEmail && !(await isVerifiedSender(em, accountId, c.fromEmail))) throw notVerified(c.fromEmail);
  } else {
    const c = content as SmsContent;
    for (const k of ['text', 'senderId'] as const) if (!c[k]) missing.push(k);
  }
  if (missing.length)
    throw badInput(`The operation is not complete: ${missing.join(', ')} missing`, { missing });
}

/** The text part as it will be sent: the one given, or derived from the HTML. */
export function textPart(c: EmailContent): string | null {
  if (c.text != null) return c.text;
  return c.html != null ? htmlToText(c.html) : null;
}

/** Encoding and parts of the SMS text as written (merge tags change the length per contact). */
export function smsInfoOf(c: SmsContent): SmsInfo {
  return smsInfo(c.text ?? '');
}

/** JSON with sorted keys, so equal content always hashes alike. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v ?? null);
}

/** sha256 of what is sent: name, audience and content in canonical form. */
export function contentHash(op: { name: string; audience: Audience; content: OperationContent }): string {
  return createHash('sha256')
    .update(canonical({ name: op.name, audience: op.audience, content: op.content }))
    .digest('hex');
}

export function checkName(raw: string): string {
  const name = raw.trim();
  if (!name) throw badInput('name must not be empty', { field: 'name' });
  if (name.length > LIMITS.name)
    throw badInput(`name must have at most ${LIMITS.name} characters`, { field: 'name' });
  return name;
}
