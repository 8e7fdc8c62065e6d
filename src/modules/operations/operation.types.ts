import { builder } from '../../builder.js';
import type { AuthedContext } from '../../context.js';
import { batched } from '../../shared/batch.js';
import { describedValues } from '../../shared/enum-values.js';
import type { SmsInfo } from '../messaging/sms.js';
import { audienceCount, MAX_AUDIENCE_SEGMENTS } from './operation.audience.js';
import { LIMITS, smsInfoOf, textPart } from './operation.content.js';
import {
  type Audience,
  type EmailContent,
  OPERATION_KINDS,
  OPERATION_STATUSES,
  type ScoreTrigger,
  type SmsContent,
} from './operation.entity.js';
import type { OperationView } from './operation.repository.js';

export const OperationKindEnum = builder.enumType('OperationKind', {
  description: 'What an operation sends; its rights are those of the feature of that kind.',
  values: describedValues(OPERATION_KINDS, {
    EMAILING: 'An email campaign (feature EMAILINGS)',
    SMS: 'An SMS campaign (feature SMS)',
  }),
});

export const OperationStatusEnum = builder.enumType('OperationStatus', {
  description: 'Where an operation is in its workflow (the table in src/modules/operations/README.md).',
  values: describedValues(OPERATION_STATUSES, {
    DRAFT: 'Being written; may be incomplete',
    PENDING_APPROVAL: 'Submitted, waiting for an approver',
    VALIDATED: 'Validated as it is now (its version and content hash recorded), not scheduled yet',
    REJECTED: 'Sent back by an approver with a reason; editable, and may be submitted again',
    SCHEDULED: 'Validated and due at scheduledAt',
    SENDING: 'Being sent by the sending engine',
    PAUSED: 'Stopped while scheduled or sending; resume goes back to where it was',
    SENT: 'Every message was handed over',
    CANCELLED: 'Stopped for good',
    FAILED: 'The sending engine stopped it (see failureReason); it may be scheduled again',
  }),
});

const SmsEncodingEnum = builder.enumType('SmsEncoding', {
  description: 'How an SMS text is encoded.',
  values: describedValues(['GSM_7', 'UCS_2'] as const, {
    GSM_7: 'GSM 03.38: 160 characters in one part, 153 per part beyond (extension characters count 2)',
    UCS_2: 'Any other character: 70 in one part, 67 per part beyond (an emoji counts 2)',
  }),
});

const SmsInfoRef = builder.objectRef<SmsInfo>('SmsInfo').implement({
  description:
    'Size of an SMS text as written (merge tags change it per contact). A computed value, so it has no id.',
  fields: (t) => ({
    encoding: t.field({ type: SmsEncodingEnum, description: 'GSM_7 or UCS_2', resolve: (i) => i.encoding }),
    characters: t.exposeInt('characters', { description: 'Septets (GSM_7) or UTF-16 units (UCS_2)' }),
    parts: t.exposeInt('parts', { description: 'Messages it is split into; 0 for an empty text' }),
  }),
});

const TriggerRef = builder.objectRef<ScoreTrigger>('OperationTrigger').implement({
  description:
    'What makes a trigger operation send: a score crossing a threshold upward in a run. Part of its audience, so it has no id.',
  fields: (t) => ({
    scoreId: t.exposeID('scoreId', { description: 'The score watched' }),
    threshold: t.field({
      type: 'Decimal',
      description: 'Sent when the score goes from below this to this or more',
      resolve: (tr) => tr.threshold,
    }),
  }),
});

const AudienceRef = builder.objectRef<Audience>('OperationAudience').implement({
  description: 'Who receives the operation. Part of its operation, so it has no id of its own.',
  fields: (t) => ({
    segmentIds: t.exposeIDList('segmentIds', { description: 'The union of these segments' }),
    excludedSegmentIds: t.exposeIDList('excludedSegmentIds', {
      description: 'Less the contacts of these segments',
    }),
    allContacts: t.exposeBoolean('allContacts', { description: 'Every contact instead of segments' }),
    trigger: t.field({
      type: TriggerRef,
      nullable: true,
      description: 'Set on a score-threshold trigger; null on a one-off send',
      resolve: (a) => a.trigger ?? null,
    }),
  }),
});

const EmailContentRef = builder.objectRef<EmailContent>('EmailContent').implement({
  description:
    'What an Emailing sends; merge tags as in src/modules/messaging/README.md. Part of its operation, so it has no id.',
  fields: (t) => ({
    subject: t.exposeString('subject', { nullable: true, description: 'Subject line (template)' }),
    preheader: t.exposeString('preheader', { nullable: true, description: 'Preview text (template)' }),
    fromName: t.exposeString('fromName', { nullable: true, description: 'Display name of the sender' }),
    fromEmail: t.exposeString('fromEmail', {
      nullable: true,
      description: 'A verified sender of the account',
    }),
    replyTo: t.exposeString('replyTo', { nullable: true, description: 'Reply-To address' }),
    html: t.exposeString('html', { nullable: true, description: 'The HTML part (template, values escaped)' }),
    text: t.exposeString('text', {
      nullable: true,
      description: 'The text part as given; null: derived from the HTML (see textPart)',
    }),
    textPart: t.string({
      nullable: true,
      description: 'The text part as it will be sent: text, or derived from the HTML',
      resolve: (c) => textPart(c),
    }),
  }),
});

const SmsContentRef = builder.objectRef<SmsContent>('SmsContent').implement({
  description: 'What an SMS operation sends. Part of its operation, so it has no id.',
  fields: (t) => ({
    text: t.exposeString('text', {
      nullable: true,
      description: `The message (template), at most ${LIMITS.smsText} characters, with an opt-out mention (STOP)`,
    }),
    senderId: t.exposeString('senderId', {
      nullable: true,
      description: 'Up to 11 letters and digits, or a number',
    }),
    info: t.field({
      type: SmsInfoRef,
      description: 'Encoding, characters and parts of the text',
      resolve: (c) => smsInfoOf(c),
    }),
  }),
});

/** Someone who took a workflow step: who they are, without their rights (a User shows those). */
interface Actor {
  id: string;
  name: string;
}
const ActorRef = builder.objectRef<Actor>('OperationActor').implement({
  description:
    'The user who took a step of an operation. Also a User (same id) for those with USERS >= GUEST.',
  fields: (t) => ({
    id: t.exposeID('id', { description: "The user's id" }),
    name: t.exposeString('name', { description: "The user's name" }),
  }),
});

/** Users of a page of operations in one query; deleted users are null. */
async function actor(ctx: AuthedContext, id: string | null): Promise<Actor | null> {
  if (!id) return null;
  const { accountId } = ctx.viewer;
  const found = await batched(ctx.em, 'operation.actors', id, async (ids) => {
    const rows = await ctx.em.execute<Actor[]>(
      `select id, name from app_user where account_id = ? and id in (?) and status <> 'DELETED'`,
      [accountId, ids],
    );
    return new Map(rows.map((r) => [r.id, r]));
  });
  return found ?? null;
}

const time = (description: string, get: (o: OperationView) => Date | null) =>
  ({ type: 'DateTime', nullable: true, description, resolve: get }) as const;

/** Who took a step, as an OperationActor (batched per request). */
const by = (description: string, get: (o: OperationView) => string | null) =>
  ({
    type: ActorRef,
    nullable: true,
    description,
    resolve: (o: OperationView, _a: unknown, c: unknown) => actor(c as AuthedContext, get(o)),
  }) as const;

export const OperationRef = builder.objectRef<OperationView>('Operation').implement({
  description:
    'An Emailing or SMS operation. Read with GUEST in its kind (EMAILINGS or SMS); an operation of one kind never answers to the rights of the other.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identity, also for client caches' }),
    kind: t.field({ type: OperationKindEnum, description: 'EMAILING or SMS', resolve: (o) => o.kind }),
    name: t.exposeString('name', { description: `1 to ${LIMITS.name} characters` }),
    status: t.field({
      type: OperationStatusEnum,
      description: 'Where it is in the workflow',
      resolve: (o) => o.status,
    }),
    audience: t.field({
      type: AudienceRef,
      description: `Who receives it (at most ${MAX_AUDIENCE_SEGMENTS} segments in, ${MAX_AUDIENCE_SEGMENTS} out)`,
      resolve: (o) => o.audience,
    }),
    audienceCount: t.int({
      description:
        'Recipients now, computed when asked: distinct addresses (email ignoring case, or phone) of the audience, less contacts without one and, for email, unsubscribed, hard-bounced or complained ones (TIMEOUT past the statement limit)',
      resolve: (o, _a, ctx) => audienceCount(ctx as AuthedContext, o.kind, o.audience),
    }),
    email: t.field({
      type: EmailContentRef,
      nullable: true,
      description: 'The content of an EMAILING; null for an SMS',
      resolve: (o) => (o.kind === 'EMAILING' ? (o.content as EmailContent) : null),
    }),
    sms: t.field({
      type: SmsContentRef,
      nullable: true,
      description: 'The content of an SMS; null for an EMAILING',
      resolve: (o) => (o.kind === 'SMS' ? (o.content as SmsContent) : null),
    }),
    version: t.exposeInt('version', { description: 'Grows by one with every edit' }),
    validatedVersion: t.exposeInt('validatedVersion', {
      nullable: true,
      description: 'The version that was validated; null when not (or no longer) validated',
    }),
    createdBy: t.field(by('Who created it', (o) => o.createdBy)),
    updatedBy: t.field(by('Who last edited it', (o) => o.updatedBy)),
    submittedBy: t.field(by('Who submitted it (this time)', (o) => o.submittedBy)),
    validatedBy: t.field(by('Who validated it', (o) => o.validatedBy)),
    rejectedBy: t.field(by('Who rejected it last', (o) => o.rejectedBy)),
    cancelledBy: t.field(by('Who cancelled it', (o) => o.cancelledBy)),
    rejectionReason: t.exposeString('rejectionReason', {
      nullable: true,
      description: 'Why it was rejected last',
    }),
    failureReason: t.exposeString('failureReason', {
      nullable: true,
      description: 'Why the engine set FAILED',
    }),
    submittedAt: t.field(time('When it was submitted', (o) => o.submittedAt)),
    validatedAt: t.field(time('When it was validated', (o) => o.validatedAt)),
    rejectedAt: t.field(time('When it was rejected last', (o) => o.rejectedAt)),
    cancelledAt: t.field(time('When it was cancelled', (o) => o.cancelledAt)),
    scheduledAt: t.field(time('When it is due (or was, once sending)', (o) => o.scheduledAt)),
    sentAt: t.field(time('When the last message was handed over', (o) => o.sentAt)),
    createdAt: t.field({ type: 'DateTime', description: 'When it was created', resolve: (o) => o.createdAt }),
    updatedAt: t.field({
      type: 'DateTime',
      description: 'When it last changed',
      resolve: (o) => o.updatedAt,
    }),
  }),
});
