import { builder, needSome } from '../../builder.js';
import type { AuthedContext } from '../../context.js';
import { OPERATION_FEATURES } from '../operations/operation.rights.js';
import { StatsRef } from '../operations/operation.stats.schema.js';
import { operationStreamRule, pollOperation } from '../operations/operation.stream.js';
import { EXCLUSION_REASONS } from './sending.entity.js';
import { progressVersion, type SendFigures, sendFiguresOf } from './sending.stats.js';

const ExclusionReasonEnum = builder.enumType('ExclusionReason', {
  description: 'Why a contact of the audience was not sent to, decided when the audience was frozen',
  values: Object.fromEntries(
    EXCLUSION_REASONS.map((r) => [
      r,
      {
        description: {
          NO_ADDRESS: 'No email address (or phone, for an SMS)',
          UNSUBSCRIBED: 'Unsubscribed from email, or (SMS) replied STOP',
          HARD_BOUNCED: 'Its address bounced permanently, or (SMS) its number was reported undeliverable',
          COMPLAINED: 'It reported a message as spam',
          DUPLICATE_ADDRESS: 'Another contact of the audience has the same address and got it',
          FREQUENCY_CAP:
            "It already had the account's frequency cap of messages of this channel in its window (sent, or being sent by another operation)",
          UNCONFIRMED: 'It signed up through a double opt-in form and has not confirmed yet',
          INSUFFICIENT_CREDITS:
            'A trigger fired for it when the account had no credits left for it (a trigger sends once per contact, ever)',
        }[r],
      },
    ]),
  ),
});

const ExclusionRef = builder
  .objectRef<{ reason: (typeof EXCLUSION_REASONS)[number]; count: number }>('SendExclusion')
  .implement({
    description: 'Contacts left out of a send for one reason. Part of its figures, so it has no id.',
    fields: (t) => ({
      reason: t.field({ type: ExclusionReasonEnum, description: 'Why', resolve: (e) => e.reason }),
      count: t.exposeInt('count', { description: 'How many contacts' }),
    }),
  });

const SendRef = builder.objectRef<SendFigures>('OperationSendStats').implement({
  description:
    "A send's figures, from its frozen audience, kept by the workers as they record each batch. Identified by its operation's id.",
  fields: (t) => ({
    id: t.exposeID('operationId', { description: "The operation's id (one send per operation)" }),
    recipients: t.exposeInt('recipients', { description: 'Contacts frozen to be sent to' }),
    excluded: t.field({
      type: [ExclusionRef],
      description: 'Contacts of the audience left out, by reason, most first',
      resolve: (s) => s.excluded,
    }),
    delivered: t.exposeInt('delivered', {
      description: 'Accepted by the receiving mail server (SMTP 250) or the SMS gateway (2xx)',
    }),
    failed: t.exposeInt('failed', {
      description:
        'Given up: hard bounce at RCPT, MAX_ATTEMPTS_REACHED, contact deleted, refused by the gateway',
    }),
    hardBounces: t.exposeInt('hardBounces', { description: 'Refused permanently (5xx) when sent' }),
    softBounces: t.int({
      description:
        'Attempts refused temporarily (4xx, no answer) and retried later; a recipient may count more than once',
      resolve: (s) => s.deferrals,
    }),
    parts: t.exposeInt('parts', {
      description: 'SMS parts sent (160/153 GSM-7, 70/67 UCS-2 characters each); 0 for an Emailing',
    }),
    complaints: t.exposeInt('complaints', {
      description: 'Distinct contacts who reported one of its messages as spam (feedback reports naming it)',
    }),
    remaining: t.exposeInt('remaining', { description: 'Not final yet: waiting, being sent or to retry' }),
    smsDelivered: t.exposeInt('smsDelivered', {
      description:
        'SMS the gateway reported DELIVERED to the phone (its delivery reports, POST /sms/status; each recipient counted once); 0 for an Emailing',
    }),
    smsFailed: t.exposeInt('smsFailed', {
      description:
        'SMS the gateway reported not delivered: FAILED (the number is then marked INVALID), EXPIRED or REJECTED; 0 for an Emailing',
    }),
  }),
});

// No scope of its own, like the rest of the stats: reached only through an Operation (GUEST in its kind).
builder.objectField(StatsRef, 'send', (t) =>
  t.field({
    type: SendRef,
    nullable: true,
    description: 'The send: recipients, exclusions, delivered, failed, bounces; null until it starts',
    resolve: (s, _a, ctx) => sendFiguresOf(ctx.em, (ctx as AuthedContext).viewer.accountId, s.operationId),
  }),
);

builder.subscriptionField('operationProgress', (t) =>
  t.withAuth(needSome(OPERATION_FEATURES, 'GUEST')).field({
    type: SendRef,
    nullable: true,
    description:
      "Delivered, failed and remaining of one operation's send: now (null before it starts), then after each batch recorded (at most one message per second). NOT_FOUND for other accounts' ids; FORBIDDEN without GUEST in its kind, then or later.",
    args: { id: t.arg.id({ required: true, description: 'The operation' }) },
    // The send row's counters move with each batch's own transaction, on any process.
    subscribe: (_r, args, ctx) =>
      pollOperation(
        ctx,
        String(args.id),
        (op) => progressVersion(ctx.em, op.accountId, op.id),
        (op) => sendFiguresOf(ctx.em, op.accountId, op.id),
      ),
    extensions: operationStreamRule('progress'),
    resolve: (s) => s,
  }),
);
