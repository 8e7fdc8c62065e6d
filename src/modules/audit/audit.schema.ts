import { filter, pipe } from 'graphql-yoga';
import { builder } from '../../builder.js';
import { connection } from '../../shared/pagination.js';
import type { Feature } from '../access/access.js';
import { FeatureEnum } from '../access/access.schema.js';
import { type AuditEntryEvent, canReadOthersHistory, listAudit } from './audit.service.js';

export const AuditEntryRef = builder.objectRef<AuditEntryEvent>('AuditEntry').implement({
  description: 'One action in the history: who did what to which object, what changed, from where, when.',
  fields: (t) => ({
    id: t.exposeID('id'),
    userId: t.exposeID('userId', { nullable: true, description: 'The user who acted (kept after deletion)' }),
    userEmail: t.exposeString('userEmail', { nullable: true }),
    action: t.exposeString('action', { description: 'The mutation, e.g. inviteUser' }),
    feature: t.field({ type: FeatureEnum, nullable: true, resolve: (e) => e.feature as Feature | null }),
    objectType: t.exposeString('objectType', { nullable: true }),
    objectId: t.exposeString('objectId', { nullable: true }),
    diff: t.expose('diff', {
      type: 'JSON',
      nullable: true,
      description: '{ field: { from, to } } of what changed',
    }),
    ip: t.exposeString('ip', { nullable: true }),
    createdAt: t.field({ type: 'DateTime', resolve: (e) => e.createdAt }),
  }),
});

const AuditConnection = connection('AuditEntry', AuditEntryRef);

const AuditFilterInput = builder.inputType('AuditFilter', {
  description: 'All conditions must hold. Times are a half-open range [from, to).',
  fields: (t) => ({
    userId: t.id({ required: false, description: "Someone else's id needs USERS >= GUEST" }),
    feature: t.field({ type: FeatureEnum, required: false }),
    action: t.string({ required: false }),
    objectType: t.string({ required: false }),
    objectId: t.string({ required: false }),
    from: t.field({ type: 'DateTime', required: false }),
    to: t.field({ type: 'DateTime', required: false }),
  }),
});

builder.queryField('auditLog', (t) =>
  t.withAuth({ authenticated: true }).field({
    type: AuditConnection,
    description:
      "The action history, newest first. Everyone reads their own entries; others' need USERS >= GUEST (without it, only your own are returned). At most 200 per page.",
    args: {
      filter: t.arg({ type: AuditFilterInput, required: false }),
      first: t.arg.int({ required: false, description: '1 to 200, default 50' }),
      after: t.arg.string({ required: false }),
    },
    resolve: (_root, args, ctx) =>
      listAudit(
        ctx,
        { ...args.filter, userId: args.filter?.userId?.toString() ?? null },
        args.first,
        args.after,
      ),
  }),
);

builder.subscriptionField('auditEntryAdded', (t) =>
  t.withAuth({ authenticated: true }).field({
    type: AuditEntryRef,
    description:
      "New history entries of your account as they are written: your own, and everyone's with USERS >= GUEST.",
    subscribe: (_root, _args, ctx) => {
      const readsAll = canReadOthersHistory(ctx);
      const me = ctx.viewer.userId;
      return pipe(
        ctx.app.pubsub.subscribe('audit', ctx.viewer.accountId),
        filter((entry: AuditEntryEvent) => readsAll || entry.userId === me),
      );
    },
    resolve: (entry) => entry,
  }),
);
