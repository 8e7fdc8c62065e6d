import { builder, need } from '../../builder.js';
import { liveRule } from '../../realtime/live.js';
import { forbidden } from '../../shared/errors.js';
import { connection } from '../../shared/pagination.js';
import { FEATURES, type Feature } from '../access/access.js';
import { FeatureEnum } from '../access/access.schema.js';
import { scopedByParent } from '../access/scope-map.js';
import { type AuditEntryEvent, canReadOthersHistory, listAudit } from './audit.service.js';

interface AuditChange {
  field: string;
  before: unknown;
  after: unknown;
}

const isFromTo = (v: unknown): v is { from: unknown; to: unknown } =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  Object.keys(v).length === 2 &&
  'from' in v &&
  'to' in v;

/**
 * The stored diff as rows. Most entries are `{ from, to }`; some mutations (createContact,
 * mergeContact, createScore, deleteScore) store the bare values they set or removed, so a bare
 * value is the value after, except for a delete where it is the value before.
 */
export function changesOf(action: string, diff: Record<string, unknown> | null): AuditChange[] {
  if (!diff) return [];
  const removed = action.startsWith('delete');
  return Object.keys(diff)
    .sort()
    .map((field) => {
      const v = diff[field];
      if (isFromTo(v)) return { field, before: v.from ?? null, after: v.to ?? null };
      return removed ? { field, before: v ?? null, after: null } : { field, before: null, after: v ?? null };
    });
}

// Always read inside its AuditEntry (which has the id): an embedded value, no identity of its own.
const AuditChangeRef = builder.objectRef<AuditChange>('AuditChange').implement({
  description:
    'What one field was before and after an action. An embedded value of its AuditEntry, so it has no id.',
  fields: (t) => ({
    field: t.exposeString('field', {
      description:
        'The field that changed, as the mutation names it (email, rights, scoreIntervalHours, ...)',
    }),
    before: t.expose('before', {
      type: 'JSON',
      nullable: true,
      description:
        'Its value before, as JSON (string, number, boolean, list or object, as the field has); null when it had none or the object was created',
    }),
    after: t.expose('after', {
      type: 'JSON',
      nullable: true,
      description: 'Its value after, as JSON like before; null when cleared or the object was deleted',
    }),
  }),
});

const GUEST_IN = new Map(FEATURES.map((f) => [f as string, need(f, 'GUEST')]));

/**
 * What an entry changed belongs to its feature: a diff of updateContact holds a contact's email.
 * Readable with GUEST or above in the entry's feature; an entry of no feature (signUp, login) as
 * the entry itself; a feature this server does not know, by nobody.
 */
const inEntryFeature = scopedByParent<AuditEntryEvent>({ feature: ["the entry's feature", 'GUEST'] }, (e) =>
  e.feature === null ? true : (GUEST_IN.get(e.feature) ?? false),
);
/** Hidden, not refused: the entry still says who did what, when, from where. No security log line. */
const hidden = { authScopes: inEntryFeature, unauthorizedError: () => 'hidden: no rights in its feature' };

export const AuditEntryRef = builder.objectRef<AuditEntryEvent>('AuditEntry').implement({
  description: 'One action in the history: who did what to which object, what changed, from where, when.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Increasing with time: a later entry has a larger id' }),
    userId: t.exposeID('userId', {
      nullable: true,
      description: 'The user who acted (kept after the user is deleted); null when no user did',
    }),
    userEmail: t.exposeString('userEmail', {
      nullable: true,
      description: 'The email of the user who acted, as it was at the time',
    }),
    action: t.exposeString('action', {
      description: 'The mutation, e.g. inviteUser (mergeContact when createContact merged into a contact)',
    }),
    feature: t.field({
      type: FeatureEnum,
      nullable: true,
      description:
        'The feature the action belongs to; null for actions outside any feature (signUp, login, logout)',
      resolve: (e) => e.feature as Feature | null,
    }),
    // Shown whatever the rights: the action already names it (updateContact), as the feature does.
    objectType: t.exposeString('objectType', {
      nullable: true,
      description:
        'The type of the object acted on: User, Contact, Score, Account, ContactImport, ... (shown with the action, whatever your rights in its feature)',
    }),
    objectId: t.exposeString('objectId', {
      ...hidden,
      unauthorizedResolver: () => null,
      nullable: true,
      description:
        "The id of the object acted on; null also when you have less than GUEST in the entry's feature",
    }),
    diff: t.expose('diff', {
      ...hidden,
      unauthorizedResolver: () => null,
      type: 'JSON',
      nullable: true,
      description:
        "What changed as stored: { field: { from, to } }, or { field: value } for what a create set; null also when you have less than GUEST in the entry's feature. Kept for compatibility: read changes instead",
    }),
    changes: t.field({
      ...hidden,
      unauthorizedResolver: () => [],
      type: [AuditChangeRef],
      description:
        "What changed, one entry per field, sorted by field name; empty when nothing is recorded, or when you have less than GUEST in the entry's feature",
      resolve: (e) => changesOf(e.action, e.diff),
    }),
    ip: t.exposeString('ip', {
      nullable: true,
      description: 'The IP address the request came from (IPv4 or IPv6); null when unknown',
    }),
    createdAt: t.field({ type: 'DateTime', description: 'When it happened', resolve: (e) => e.createdAt }),
  }),
});

const AuditConnection = connection('AuditEntry', AuditEntryRef);

const AuditFilterInput = builder.inputType('AuditFilter', {
  description: 'All conditions must hold. Times are a half-open range [from, to).',
  fields: (t) => ({
    userId: t.id({
      required: false,
      description: "Only this user's entries; someone else's id needs USERS >= GUEST",
    }),
    feature: t.field({ type: FeatureEnum, required: false, description: 'Only this feature' }),
    action: t.string({ required: false, description: 'Only this mutation, exactly, e.g. updateContact' }),
    objectType: t.string({ required: false, description: 'Only this object type, exactly, e.g. Contact' }),
    objectId: t.string({ required: false, description: 'Only this object' }),
    from: t.field({ type: 'DateTime', required: false, description: 'Entries at or after this instant' }),
    to: t.field({ type: 'DateTime', required: false, description: 'Entries strictly before this instant' }),
  }),
});

builder.queryField('auditLog', (t) =>
  t.withAuth({ authenticated: true }).field({
    type: AuditConnection,
    description:
      "The action history, newest first. Everyone reads their own entries; others' need USERS >= GUEST (without it, only your own are returned). At most 200 per page.",
    args: {
      filter: t.arg({
        type: AuditFilterInput,
        required: false,
        description: 'Which entries; all by default',
      }),
      first: t.arg.int({ required: false, description: 'Entries per page, 1 to 200, default 50' }),
      after: t.arg.string({
        required: false,
        description: 'The endCursor (or an edge cursor) of the previous page',
      }),
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
      "New history entries of your account as they are written: your own, and everyone's with USERS >= GUEST. Rights are checked again before each entry: a stream opened with USERS >= GUEST ends with FORBIDDEN once that is lowered; an entry's diff, changes and objectId follow your rights of the moment in its feature.",
    subscribe: (_root, _args, ctx) => ctx.app.pubsub.subscribe('audit', ctx.viewer.accountId),
    // Checked with the viewer loaded again for each entry (live.ts), not the rights at subscribe
    // time: a stream opened on everyone's entries ends once its user may no longer read them (it
    // does not quietly turn into a stream of their own).
    extensions: liveRule<AuditEntryEvent, boolean>({
      start: canReadOthersHistory,
      allowed: (ctx, readsAll) =>
        readsAll && !canReadOthersHistory(ctx)
          ? forbidden(
              "Your access level no longer allows reading others' history (USERS >= GUEST): subscribe again for your own entries",
            )
          : null,
      deliver: (entry, ctx, readsAll) => readsAll || entry.userId === ctx.viewer.userId,
    }),
    resolve: (entry) => entry,
  }),
);
