import { builder, needSome } from '../../builder.js';
import type { AuthedContext, Context } from '../../context.js';
import { liveRule } from '../../realtime/live.js';
import { pollStream } from '../../realtime/poll.js';
import { forbidden } from '../../shared/errors.js';
import type { OperationKind } from '../operations/operation.entity.js';
import { featureOf, mayDo, OPERATION_FEATURES } from '../operations/operation.rights.js';
import { readOperation } from '../operations/operation.service.js';
import { STATS_POLL_MS, StatsRef } from '../operations/operation.stats.schema.js';
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
          UNSUBSCRIBED: 'Unsubscribed from email',
          HARD_BOUNCED: 'Its address bounced permanently',
          COMPLAINED: 'It reported a message as spam',
          DUPLICATE_ADDRESS: 'Another contact of the audience has the same address and got it',
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

const kinds = new WeakMap<Context, OperationKind>();

builder.subscriptionField('operationProgress', (t) =>
  t.withAuth(needSome(OPERATION_FEATURES, 'GUEST')).field({
    type: SendRef,
    nullable: true,
    description:
      "Delivered, failed and remaining of one operation's send: now (null before it starts), then after each batch recorded (at most one message per second). NOT_FOUND for other accounts' ids; FORBIDDEN without GUEST in its kind, then or later.",
    args: { id: t.arg.id({ required: true, description: 'The operation' }) },
    subscribe: async (_r, args, ctx) => {
      const op = await readOperation(ctx, String(args.id));
      kinds.set(ctx, op.kind);
      const { accountId } = ctx.viewer;
      // Polls the send row's counters, moved by each batch's own transaction on any process (see
      // operationStatsUpdated for why polling beats publishing here).
      return pollStream(
        () => progressVersion(ctx.em, accountId, op.id),
        () => sendFiguresOf(ctx.em, accountId, op.id),
        STATS_POLL_MS,
      );
    },
    extensions: liveRule<SendFigures | null, null>({
      start: () => null,
      allowed: (ctx) => {
        const kind = kinds.get(ctx);
        if (!kind || mayDo(ctx.viewer, kind, 'GUEST')) return null;
        return forbidden(`Reading the progress of an ${kind} operation needs ${featureOf(kind)} >= GUEST`);
      },
    }),
    resolve: (s) => s,
  }),
);
