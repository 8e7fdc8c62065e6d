import { builder, needSome } from '../../builder.js';
import type { AuthedContext } from '../../context.js';
import { liveRule } from '../../realtime/live.js';
import { connection } from '../../shared/pagination.js';
import { atLeast, type Feature } from '../access/access.js';
import type { AuditEntryEvent } from '../audit/audit.service.js';
import { MAX_AUDIENCE_SEGMENTS } from './operation.audience.js';
import { LIMITS } from './operation.content.js';
import { findOperations } from './operation.repository.js';
import { OPERATION_FEATURES } from './operation.rights.js';
import {
  createOperation,
  deleteOperations,
  listVisible,
  MAX_DELETE_OPERATIONS,
  readOperation,
  updateOperation,
} from './operation.service.js';
import {
  cancelOperation,
  MAX_REASON,
  MAX_SCHEDULE_DAYS,
  pauseOperation,
  rejectOperation,
  resumeOperation,
  scheduleOperation,
  submitOperation,
  validateOperation,
} from './operation.transitions.js';
import { OperationKindEnum, OperationRef, OperationStatusEnum } from './operation.types.js';

const TriggerInput = builder.inputType('OperationTriggerInput', {
  description: 'A score and the threshold whose upward crossing sends the operation to a contact.',
  fields: (t) => ({
    scoreId: t.id({ required: true, description: 'A score of the account; an unknown id is NOT_FOUND' }),
    threshold: t.field({
      type: 'Decimal',
      required: true,
      description: 'Sent when the score goes from below this value to this value or more in a run',
    }),
  }),
});

const AudienceInput = builder.inputType('OperationAudienceInput', {
  description: 'Who receives it: segments (union) less excluded segments, or every contact.',
  fields: (t) => ({
    segmentIds: t.idList({
      required: false,
      description: `Segments of the account, at most ${MAX_AUDIENCE_SEGMENTS}; an unknown id is NOT_FOUND`,
    }),
    excludedSegmentIds: t.idList({
      required: false,
      description: `Their contacts are left out, at most ${MAX_AUDIENCE_SEGMENTS}`,
    }),
    allContacts: t.boolean({
      required: false,
      description: 'Every contact (then no segmentIds); default false',
    }),
    trigger: t.field({
      type: TriggerInput,
      required: false,
      description:
        'Makes it a score-threshold trigger: once sending, it sends to each member the first time their score crosses the threshold upward in a score run (once per contact, ever)',
    }),
  }),
});

const EmailContentInput = builder.inputType('EmailContentInput', {
  description:
    'Email content. On update, a field absent stays as it is and null clears it. Templates are checked at save (BAD_USER_INPUT naming the part, line and column).',
  fields: (t) => ({
    subject: t.string({ required: false, description: `Template, at most ${LIMITS.subject} characters` }),
    preheader: t.string({ required: false, description: `Template, at most ${LIMITS.preheader} characters` }),
    fromName: t.string({ required: false, description: `At most ${LIMITS.fromName} characters` }),
    fromEmail: t.string({ required: false, description: 'A VERIFIED sender of the account (addSender)' }),
    replyTo: t.string({ required: false, description: 'An email address' }),
    html: t.string({
      required: false,
      description: `Template, values HTML-escaped, at most ${LIMITS.html} characters`,
    }),
    text: t.string({
      required: false,
      description: 'Template of the text part; null: derived from the HTML',
    }),
  }),
});

const SmsContentInput = builder.inputType('SmsContentInput', {
  description: 'SMS content. On update, a field absent stays as it is and null clears it.',
  fields: (t) => ({
    text: t.string({
      required: false,
      description: `Template, at most ${LIMITS.smsText} characters, with an opt-out mention such as "STOP 36111"`,
    }),
    senderId: t.string({
      required: false,
      description: 'Up to 11 letters and digits (one letter at least), or a number',
    }),
  }),
});

const CreateOperationInput = builder.inputType('CreateOperationInput', {
  description: 'A new operation, in DRAFT. It may be incomplete; submitOperation needs it complete.',
  fields: (t) => ({
    kind: t.field({
      type: OperationKindEnum,
      required: true,
      description: 'EMAILING or SMS; needs EDITOR in it',
    }),
    name: t.string({ required: true, description: `1 to ${LIMITS.name} characters` }),
    audience: t.field({
      type: AudienceInput,
      required: false,
      description: 'Who receives it; nobody by default',
    }),
    email: t.field({ type: EmailContentInput, required: false, description: 'For an EMAILING only' }),
    sms: t.field({ type: SmsContentInput, required: false, description: 'For an SMS only' }),
  }),
});

const UpdateOperationInput = builder.inputType('UpdateOperationInput', {
  description:
    'An edit. Past DRAFT (pending, validated, scheduled, rejected) it sends the operation back to DRAFT and voids its validation; an edit that changes nothing is not one.',
  fields: (t) => ({
    id: t.id({ required: true, description: 'The operation' }),
    name: t.string({ required: false, description: `1 to ${LIMITS.name} characters` }),
    audience: t.field({ type: AudienceInput, required: false, description: 'Replaces the audience' }),
    email: t.field({ type: EmailContentInput, required: false, description: 'Fields to change (EMAILING)' }),
    sms: t.field({ type: SmsContentInput, required: false, description: 'Fields to change (SMS)' }),
  }),
});

const OperationFilterInput = builder.inputType('OperationFilter', {
  description: 'All conditions given must hold.',
  fields: (t) => ({
    kind: t.field({ type: OperationKindEnum, required: false, description: 'Only this kind' }),
    status: t.field({ type: [OperationStatusEnum], required: false, description: 'Only these statuses' }),
    search: t.string({ required: false, description: 'Part of the name, any case, at most 200 characters' }),
  }),
});

const GUEST = needSome(OPERATION_FEATURES, 'GUEST');
const EDITOR = needSome(OPERATION_FEATURES, 'EDITOR');
const APPROVER = needSome(OPERATION_FEATURES, 'APPROVER');

builder.queryField('operations', (t) =>
  t.withAuth(GUEST).field({
    type: connection('Operation', OperationRef),
    description:
      'Operations of the account, newest first, of the kinds you may read (GUEST in EMAILINGS, SMS); at most 200 per page.',
    args: {
      filter: t.arg({
        type: OperationFilterInput,
        required: false,
        description: 'Which operations; all by default',
      }),
      first: t.arg.int({ required: false, description: 'Operations per page, 1 to 200, default 50' }),
      after: t.arg.string({
        required: false,
        description: 'The endCursor (or an edge cursor) of the previous page',
      }),
    },
    resolve: (_r, args, ctx) =>
      listVisible(ctx, { ...args.filter, status: args.filter?.status ?? null }, args.first, args.after),
  }),
);

builder.queryField('operation', (t) =>
  t.withAuth(GUEST).field({
    type: OperationRef,
    nullable: true,
    description:
      "One operation; NOT_FOUND for unknown ids (other accounts' too), FORBIDDEN without GUEST in its kind.",
    args: { id: t.arg.id({ required: true, description: 'The operation' }) },
    resolve: (_r, args, ctx) => readOperation(ctx, String(args.id)),
  }),
);

builder.mutationField('createOperation', (t) =>
  t.withAuth(EDITOR).field({
    type: OperationRef,
    description:
      'Creates a DRAFT operation (EDITOR in its kind). BAD_USER_INPUT names what is wrong: a template (part, line, column), a from address that is not a verified sender, a sender id, an SMS without opt-out.',
    args: { input: t.arg({ type: CreateOperationInput, required: true, description: 'The operation' }) },
    resolve: (_r, { input }, ctx) => createOperation(ctx, input),
  }),
);

builder.mutationField('updateOperation', (t) =>
  t.withAuth(EDITOR).field({
    type: OperationRef,
    description:
      'Edits an operation (EDITOR in its kind) in DRAFT, PENDING_APPROVAL, VALIDATED, SCHEDULED or REJECTED; past DRAFT it goes back to DRAFT and its validation is void. CONFLICT in other states.',
    args: { input: t.arg({ type: UpdateOperationInput, required: true, description: 'What changes' }) },
    resolve: (_r, { input }, ctx) => updateOperation(ctx, String(input.id), input),
  }),
);

builder.mutationField('deleteOperations', (t) =>
  t.withAuth(EDITOR).idList({
    description: `Deletes DRAFT and REJECTED operations, all or nothing (CONFLICT naming one in another state: cancel it instead); returns the ids deleted, unknown ids skipped. At most ${MAX_DELETE_OPERATIONS}.`,
    args: { ids: t.arg.idList({ required: true, description: `1 to ${MAX_DELETE_OPERATIONS} operations` }) },
    resolve: (_r, args, ctx) => deleteOperations(ctx, args.ids.map(String)),
  }),
);

const transition = (
  name: string,
  scope: typeof GUEST,
  description: string,
  run: (ctx: AuthedContext, id: string) => Promise<unknown>,
) =>
  builder.mutationField(name, (t) =>
    t.withAuth(scope).field({
      type: OperationRef,
      description,
      args: { id: t.arg.id({ required: true, description: 'The operation' }) },
      resolve: (_r, args, ctx) => run(ctx, String(args.id)) as never,
    }),
  );

transition(
  'submitOperation',
  EDITOR,
  'DRAFT or REJECTED -> PENDING_APPROVAL (EDITOR in its kind); the content must be complete (BAD_USER_INPUT naming what is missing). Mails the approvers of its kind.',
  submitOperation,
);
transition(
  'pauseOperation',
  APPROVER,
  'SCHEDULED or SENDING -> PAUSED (APPROVER in its kind).',
  pauseOperation,
);
transition(
  'resumeOperation',
  APPROVER,
  'PAUSED -> the status it was paused from (APPROVER in its kind).',
  resumeOperation,
);
transition(
  'cancelOperation',
  APPROVER,
  'VALIDATED, SCHEDULED, SENDING, PAUSED or FAILED -> CANCELLED, for good (APPROVER in its kind).',
  cancelOperation,
);

builder.mutationField('validateOperation', (t) =>
  t.withAuth(APPROVER).field({
    type: OperationRef,
    description:
      'PENDING_APPROVAL -> VALIDATED (APPROVER in its kind), recording the version and content hash that may be sent; with scheduleAt or scheduleNow also schedules it, in one call when settings.fourEyes is off. With fourEyes on, FORBIDDEN for whoever created, last edited or submitted it, the owner included. Mails the submitter.',
    args: {
      id: t.arg.id({ required: true, description: 'The operation' }),
      scheduleAt: t.arg({
        type: 'DateTime',
        required: false,
        description: 'Also schedule it at this time (not in the past)',
      }),
      scheduleNow: t.arg.boolean({ required: false, description: 'Also schedule it now (immediately due)' }),
    },
    resolve: (_r, args, ctx) =>
      validateOperation(ctx, String(args.id), { at: args.scheduleAt ?? null, now: args.scheduleNow ?? null }),
  }),
);

builder.mutationField('rejectOperation', (t) =>
  t.withAuth(APPROVER).field({
    type: OperationRef,
    description: 'PENDING_APPROVAL -> REJECTED with a reason (APPROVER in its kind); mails the submitter.',
    args: {
      id: t.arg.id({ required: true, description: 'The operation' }),
      reason: t.arg.string({ required: true, description: `What to change, 1 to ${MAX_REASON} characters` }),
    },
    resolve: (_r, args, ctx) => rejectOperation(ctx, String(args.id), args.reason),
  }),
);

builder.mutationField('scheduleOperation', (t) =>
  t.withAuth(APPROVER).field({
    type: OperationRef,
    description: `VALIDATED, SCHEDULED (a new time) or FAILED -> SCHEDULED (APPROVER in its kind). Exactly one of at (not in the past, at most ${MAX_SCHEDULE_DAYS} days ahead: BAD_USER_INPUT) or now.`,
    args: {
      id: t.arg.id({ required: true, description: 'The operation' }),
      at: t.arg({ type: 'DateTime', required: false, description: 'When it is due' }),
      now: t.arg.boolean({ required: false, description: 'true: due at once' }),
    },
    resolve: (_r, args, ctx) => scheduleOperation(ctx, String(args.id), { at: args.at, now: args.now }),
  }),
);

/** What operationChanged streams: one step or edit of one operation. */
interface OperationChange {
  entry: AuditEntryEvent;
}

const OperationChangeRef = builder.objectRef<OperationChange>('OperationChange').implement({
  description:
    'One change of an operation (a step, an edit, a deletion). A message, not a stored object: no id.',
  fields: (t) => ({
    operationId: t.id({ description: 'The operation', resolve: (c) => c.entry.objectId as string }),
    action: t.string({
      description: 'The mutation or engine step, e.g. submitOperation, updateOperation, startOperation',
      resolve: (c) => c.entry.action,
    }),
    deleted: t.boolean({
      description: 'true: the operation was deleted',
      resolve: (c) => c.entry.action === 'deleteOperation',
    }),
    at: t.field({ type: 'DateTime', description: 'When it happened', resolve: (c) => c.entry.createdAt }),
    operation: t.field({
      type: OperationRef,
      nullable: true,
      description: 'The operation as it is now; null once deleted',
      resolve: async (c, _a, ctx) =>
        (
          await findOperations(ctx.em, (ctx as AuthedContext).viewer.accountId, [c.entry.objectId as string])
        )[0] ?? null,
    }),
  }),
});

const readsFeature = (ctx: AuthedContext, feature: string | null) =>
  OPERATION_FEATURES.includes(feature as Feature) && atLeast(ctx.viewer.rights[feature as Feature], 'GUEST');

builder.subscriptionField('operationChanged', (t) =>
  t.withAuth(GUEST).field({
    type: OperationChangeRef,
    description:
      "Changes of your account's operations (statuses, edits, deletions) as they commit, only of the kinds you may read at the moment of each change.",
    subscribe: (_r, _a, ctx) => ctx.app.pubsub.subscribe('audit', ctx.viewer.accountId),
    // The history entries are the changes: each step writes one in its transaction and it is
    // published after the commit; rights are those of the viewer loaded again for each (live.ts).
    extensions: liveRule<AuditEntryEvent, null>({
      start: () => null,
      deliver: (entry, ctx) => entry.objectType === 'Operation' && readsFeature(ctx, entry.feature),
    }),
    resolve: (entry) => ({ entry: entry as unknown as AuditEntryEvent }),
  }),
);
