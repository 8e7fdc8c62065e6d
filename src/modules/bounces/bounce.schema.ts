import { builder, need } from '../../builder.js';
import { batched } from '../../shared/batch.js';
import { describedValues } from '../../shared/enum-values.js';
import { connection } from '../../shared/pagination.js';
import { ContactRef } from '../contacts/contact.schema.js';
import { findContacts } from '../contacts/contact.service.js';
import type { BounceEvent } from './bounce.repository.js';
import { bouncesOf, classifyMessage, lastBounceOf, recordBounce } from './bounce.service.js';
import { BOUNCE_TYPES, type BounceClassification, MAX_RECIPIENTS } from './classifier/classify.js';

export const BounceTypeEnum = builder.enumType('BounceType', {
  description:
    'DELIVERY_FAILED: delivery failed or address suspended; RETRY_LOOP_EXCEEDED: the retry loop expired; MAX_ATTEMPTS_REACHED: sent 3 times without delivery; SPAM_REFUSED: refused by anti-spam or reported as spam.',
  values: describedValues(BOUNCE_TYPES, {
    DELIVERY_FAILED: 'The receiving server refused the mail or the address is suspended',
    RETRY_LOOP_EXCEEDED: 'The sending server gave up after retrying for its whole retry period',
    MAX_ATTEMPTS_REACHED: 'Our own sending tried 3 times without delivery',
    SPAM_REFUSED: 'Refused by an anti-spam filter, or reported as spam by the recipient',
  }),
});

const REASON_DOC =
  'Fine reason in Sisimai vocabulary: userunknown, hostunknown, mailboxfull, expired, spamdetected, blocked, filtered, policyviolation, suspend, rejected, feedback (complaint), ...';

const BounceClassificationRef = builder.objectRef<BounceClassification>('BounceClassification').implement({
  description:
    'What a raw bounce says about one failed recipient. Computed from the message given and never stored, so it has no id.',
  fields: (t) => ({
    recipient: t.exposeString('recipient', { nullable: true, description: 'Lower-cased; null if unnamed' }),
    status: t.exposeString('status', { nullable: true, description: 'Enhanced status code, e.g. 5.1.1' }),
    replyCode: t.exposeString('replyCode', { nullable: true, description: 'SMTP reply code, e.g. 550' }),
    reason: t.exposeString('reason', { description: REASON_DOC }),
    hard: t.exposeBoolean('hard', { description: 'Hard bounce: the address will not work again' }),
    type: t.field({ type: BounceTypeEnum, description: 'The kind of failure', resolve: (r) => r.type }),
    message: t.exposeString('diagnostic', {
      nullable: true,
      description: 'The last message returned by the receiving server',
    }),
    feedbackType: t.string({
      nullable: true,
      description: 'For complaints (ARF): abuse, fraud, auth-failure, ...',
      resolve: (r) => r.feedbackType ?? null,
    }),
  }),
});

export const BounceRef = builder.objectRef<BounceEvent>('Bounce').implement({
  description: 'A stored bounce of one recipient; shown date first, then the server message.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identity, also for client caches' }),
    date: t.field({
      type: 'DateTime',
      description: 'When the bounce was received',
      resolve: (b) => b.receivedAt,
    }),
    recipient: t.exposeString('recipient', {
      nullable: true,
      description: 'The failed address, lower-cased; null when the bounce does not name it',
    }),
    status: t.exposeString('status', { nullable: true, description: 'Enhanced status code, e.g. 5.1.1' }),
    replyCode: t.exposeString('replyCode', { nullable: true, description: 'SMTP reply code, e.g. 550' }),
    message: t.exposeString('diagnostic', {
      nullable: true,
      description: 'The last message returned by the receiving server',
    }),
    reason: t.exposeString('reason', { description: REASON_DOC }),
    hard: t.exposeBoolean('hard', { description: 'Hard bounce: the address will not work again' }),
    type: t.field({ type: BounceTypeEnum, description: 'The kind of failure', resolve: (b) => b.type }),
    contactId: t.exposeID('contactId', {
      nullable: true,
      description:
        "The contact it was matched to: by the return path of our message (VERP) when the bounce carries one of this account's, else by email; null when none matched",
    }),
  }),
});

const BounceConnection = connection('Bounce', BounceRef);

// Crosses into contacts: declared like Contact.lastBounce. recordBounce changes the contact
// (emailStatus, lastBounce), so its result can carry the contact for a client cache to update.
builder.objectField(BounceRef, 'contact', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: ContactRef,
    nullable: true,
    description:
      'The contact it was matched to, as it is now (its emailStatus and lastBounce reflect this bounce); null when none matched or it was deleted',
    resolve: async (b, _a, ctx) => {
      if (!b.contactId) return null;
      const accountId = ctx.viewer.accountId;
      const found = await batched(ctx.em, 'bounces.contact', b.contactId, (ids) =>
        findContacts(ctx.em, accountId, ids),
      );
      return found ?? null;
    },
  }),
);

builder.objectFields(ContactRef, (t) => ({
  lastBounce: t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: BounceRef,
    nullable: true,
    description: 'The most recent bounce (by date); stays even when later sendings succeed.',
    resolve: (c, _a, ctx) => lastBounceOf(ctx, c.last_bounce_id),
  }),
  bounces: t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: BounceConnection,
    description: 'Every bounce of the contact, newest first; at most 200 per page.',
    args: {
      first: t.arg.int({ required: false, description: 'Bounces per page, 1 to 200, default 50' }),
      after: t.arg.string({
        required: false,
        description: 'The endCursor (or an edge cursor) of the previous page',
      }),
    },
    resolve: (c, args, ctx) => bouncesOf(ctx, c.id, args.first, args.after),
  }),
}));

builder.queryField('classifyBounce', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: [BounceClassificationRef],
    description: `Reads a raw bounce (DSN, ARF report, MTA notice, SES notification) or a bare SMTP reply, one result per failed recipient; writes nothing. At most 1 MiB and ${MAX_RECIPIENTS} recipients; anything else is BAD_USER_INPUT.`,
    args: {
      message: t.arg.string({
        required: true,
        description: 'The raw message (headers and body) or SMTP reply, at most 1 MiB',
      }),
    },
    resolve: (_r, args, ctx) => classifyMessage(args.message, ctx.app.config),
  }),
);

const RecordBounceInput = builder.inputType('RecordBounceInput', {
  description: 'A raw bounce to classify and store.',
  fields: (t) => ({
    message: t.string({
      required: true,
      description: `The raw bounce or SMTP reply, at most 1 MiB`,
    }),
    receivedAt: t.field({
      type: 'DateTime',
      required: false,
      description: 'Default: now; not in the future',
    }),
  }),
});

builder.mutationField('recordBounce', (t) =>
  t.withAuth(need('CONTACTS', 'EDITOR')).field({
    type: [BounceRef],
    description:
      'Classifies a raw bounce and stores one bounce per failed recipient and contact with that email (or unmatched, kept in history). Updates the contacts: emailStatus (hard: HARD_BOUNCED; complaint: COMPLAINED; soft: SOFT_BOUNCED unless a stronger status is set), lastBounce (only to a newer date), a BOUNCE event. A bounce that carries the return path of a message of this account (VERP) is matched to that exact send: its contact (even if the bounce names a forwarded address) and its operation, whose recipient is marked HARD_BOUNCE or SOFT_BOUNCE and counted in hardBounces once. Auto-replies and delivery notices store nothing and return []. Not a bounce: BAD_USER_INPUT, nothing written. Select contact on each bounce to refresh the contacts in a client cache.',
    args: { input: t.arg({ type: RecordBounceInput, required: true, description: 'The bounce' }) },
    resolve: (_r, { input }, ctx) => recordBounce(ctx, input),
  }),
);

builder.subscriptionField('bounceReceived', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: BounceRef,
    description: 'Bounces of your account as they are recorded.',
    subscribe: (_r, _a, ctx) => ctx.app.pubsub.subscribe('bounces', ctx.viewer.accountId),
    resolve: (b) => b,
  }),
);
