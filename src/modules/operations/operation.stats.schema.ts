import { builder, needSome } from '../../builder.js';
import type { AuthedContext } from '../../context.js';
import { OPERATION_FEATURES } from './operation.rights.js';
import {
  type LinkStat,
  type OperationStats,
  operationStats,
  type StatCount,
  statsVersion,
  TOP_LINKS,
} from './operation.stats.js';
import { operationStreamRule, pollOperation } from './operation.stream.js';
import { OperationRef } from './operation.types.js';

const StatCountRef = builder.objectRef<StatCount>('OperationStatCount').implement({
  description: 'A count of events of an operation. Part of its stats, so it has no id.',
  fields: (t) => ({
    total: t.exposeInt('total', { description: 'Every event' }),
    unique: t.exposeInt('unique', { description: 'Distinct contacts with at least one' }),
  }),
});

const LinkStatRef = builder.objectRef<LinkStat>('OperationLinkStat').implement({
  description: 'Clicks on one link of an operation. Part of its stats, so it has no id.',
  fields: (t) => ({
    url: t.exposeString('url', { description: 'The link as clicked (the target URL)' }),
    total: t.exposeInt('total', { description: 'Every click on it' }),
    unique: t.exposeInt('unique', { description: 'Distinct contacts who clicked it' }),
  }),
});

export const StatsRef = builder.objectRef<OperationStats>('OperationStats').implement({
  description:
    "What the behaviour events carrying the operation's id say, from aggregates kept at ingest (README, Statistics). Opens and clicks a proxy or scanner made (machine: true on the event) are kept out of opens, clicks, clicksPerLink and the rates, and counted in machineOpens and machineClicks. Identified by its operation's id.",
  fields: (t) => ({
    id: t.exposeID('operationId', { description: "The operation's id (one stats object per operation)" }),
    sent: t.exposeInt('sent', { description: 'EMAIL_SENT (or SMS_SENT) events of the operation' }),
    opens: t.field({
      type: StatCountRef,
      nullable: true,
      description:
        'EMAIL_OPEN events made by people (machine-made ones are in machineOpens); null for an SMS',
      resolve: (s) => s.opens,
    }),
    clicks: t.field({
      type: StatCountRef,
      description:
        'EMAIL_CLICK (or SMS_CLICK) events made by people (machine-made ones are in machineClicks)',
      resolve: (s) => s.clicks,
    }),
    machineOpens: t.field({
      type: StatCountRef,
      nullable: true,
      description:
        'EMAIL_OPEN events a privacy proxy or scanner made (Apple Mail Privacy Protection prefetches, security gateways, opens within seconds of the send); null for an SMS',
      resolve: (s) => s.machineOpens,
    }),
    machineClicks: t.field({
      type: StatCountRef,
      description:
        'Clicks a scanner made (known scanner user agents, clicks within seconds of the send, a contact clicking several links within seconds)',
      resolve: (s) => s.machineClicks,
    }),
    openRate: t.float({
      nullable: true,
      description: 'Unique human opens per sent message (0 to 1); null for an SMS or before anything is sent',
      resolve: (s) => s.openRate,
    }),
    clickRate: t.float({
      nullable: true,
      description: 'Unique human clicks per sent message (0 to 1); null before anything is sent',
      resolve: (s) => s.clickRate,
    }),
    links: t.exposeInt('links', { description: 'Distinct links clicked' }),
    clicksPerLink: t.field({
      type: [LinkStatRef],
      description: `The ${TOP_LINKS} most clicked links, by total human clicks`,
      resolve: (s) => s.clicksPerLink,
    }),
    unsubscribes: t.exposeInt('unsubscribes', { description: 'Distinct contacts with an UNSUBSCRIBE event' }),
    bounces: t.exposeInt('bounces', {
      description:
        'BOUNCE events carrying the operation (hard and soft apart once bounces are matched to sends, issue 13)',
    }),
  }),
});

// No scope of its own: an Operation is only reached with GUEST in its kind, and stats hold no
// contact data.
builder.objectField(OperationRef, 'stats', (t) =>
  t.field({
    type: StatsRef,
    description:
      'Sent, opens, clicks (also per link) and their rates, machine opens and clicks apart, unsubscribes and bounces, read from aggregates',
    resolve: (o, _a, ctx) => operationStats(ctx.em, (ctx as AuthedContext).viewer.accountId, o.id, o.kind),
  }),
);

builder.subscriptionField('operationStatsUpdated', (t) =>
  t.withAuth(needSome(OPERATION_FEATURES, 'GUEST')).field({
    type: StatsRef,
    description:
      "The stats of one operation: now, then whenever they change (at most one message per second). NOT_FOUND for other accounts' ids; FORBIDDEN without GUEST in its kind, then or later.",
    args: { id: t.arg.id({ required: true, description: 'The operation' }) },
    // Polls the aggregates' change counter (a primary-key read of at most 8 rows per key) rather
    // than a pub/sub topic: events arrive by many paths (API, tracking, bounces, the engine)
    // and processes, and the counter moves in their own transactions.
    subscribe: (_r, args, ctx) =>
      pollOperation(
        ctx,
        String(args.id),
        (op) => statsVersion(ctx.em, op.accountId, op.id),
        (op) => operationStats(ctx.em, op.accountId, op.id, op.kind),
      ),
    extensions: operationStreamRule('stats'),
    resolve: (s) => s,
  }),
);
