import { builder, need } from '../../builder.js';
import { connection } from '../../shared/pagination.js';
import { CriterionInput } from '../targeting/criterion.schema.js';
import { colleagueOf, inUsers } from '../users/colleague.js';
import { UserRef } from '../users/users.schema.js';
import { MAX_ATTEMPTS } from './webhook.deliver.js';
import {
  type DeliveryFilter,
  listDeliveries,
  redeliver,
  replayWebhook,
  sendTestWebhook,
} from './webhook.deliveries.js';
import type { DELIVERY_STATUSES, WEBHOOK_STATUSES } from './webhook.entity.js';
import { eventTypeName, WEBHOOK_EVENT_TYPES } from './webhook.events.js';
import { webhookPoster } from './webhook.jobs.js';
import {
  activateWebhook,
  createWebhook,
  deactivateWebhook,
  deleteWebhook,
  findWebhook,
  listWebhooks,
  MAX_FIELDS,
  MAX_NAME,
  rotateWebhookSecret,
  updateWebhook,
} from './webhook.service.js';
import { secretHint } from './webhook.sign.js';
import type { DeliveryFailedEvent, DeliveryView, WebhookView } from './webhook.view.js';

const read = need('WEBHOOKS', 'GUEST');
const edit = need('WEBHOOKS', 'EDITOR');
const approve = need('WEBHOOKS', 'APPROVER');

export const WebhookEventTypeEnum = builder.enumType('WebhookEventType', {
  description: 'What a webhook forwards; each payload carries it in `type`, in the dotted form shown.',
  values: Object.fromEntries(
    [...Object.entries(WEBHOOK_EVENT_TYPES), ['TEST', 'webhook.test']].map(([name, type]) => [
      name,
      {
        description:
          name === 'TEST'
            ? "`webhook.test`: sendTestWebhook's message (only in deliveries; not subscribable)"
            : `\`${type}\``,
      },
    ]),
  ),
});

const WebhookStatusEnum = builder.enumType('WebhookStatus', {
  description: 'Whether a webhook collects and delivers',
  values: {
    INACTIVE: { description: 'Collects nothing: new, edited by a non-approver, or deactivated' },
    ACTIVE: { description: 'Collects and delivers (an approver activated it)' },
    FAILING: {
      description:
        'Every attempt failed for days: collects and keeps, attempts nothing until activated again',
    },
    DISABLED: { description: 'The receiver answered 410 Gone: collects nothing until activated again' },
  } satisfies Record<(typeof WEBHOOK_STATUSES)[number], unknown>,
});

const DeliveryStatusEnum = builder.enumType('WebhookDeliveryStatus', {
  description: 'Where a delivery stands',
  values: {
    PENDING: { description: 'To be attempted, at nextAttemptAt' },
    SUCCEEDED: { description: 'The receiver answered 2xx' },
    FAILED: {
      description: `${MAX_ATTEMPTS} attempts failed; kept, and sent again by redeliver or replayWebhook`,
    },
    FILTERED: { description: "Its contact did not match the webhook's filter: not sent" },
    REFUSED: { description: 'Never sent: its payload was over 256 KiB (lastError says so)' },
  } satisfies Record<(typeof DELIVERY_STATUSES)[number], unknown>,
});

const DeliveryRef = builder.objectRef<DeliveryView>('WebhookDelivery').implement({
  description:
    'One event for one webhook: its message id is `msg_<id>` (the webhook-id header, the same at every attempt), what the last attempt got back, and what comes next.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identity; the message id is msg_ followed by it' }),
    messageId: t.string({
      description: 'The webhook-id header of its requests',
      resolve: (d) => `msg_${d.id}`,
    }),
    webhookId: t.exposeID('webhookId', { description: 'The webhook' }),
    eventType: t.field({
      type: WebhookEventTypeEnum,
      description: 'What happened',
      resolve: (d) => eventTypeName(d.eventType) as never,
    }),
    type: t.exposeString('eventType', { description: 'The payload type, e.g. event.email_click' }),
    payload: t.withAuth(need('CONTACTS', 'GUEST')).field({
      type: 'JSON',
      description: "The body's data: ids, and the contact fields the webhook names (CONTACTS >= GUEST)",
      resolve: (d) => d.payload,
    }),
    occurredAt: t.expose('occurredAt', { type: 'DateTime', description: 'When the event happened' }),
    status: t.field({ type: DeliveryStatusEnum, description: 'Where it stands', resolve: (d) => d.status }),
    attempts: t.exposeInt('attempts', { description: `Attempts made, at most ${MAX_ATTEMPTS}` }),
    nextAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it is attempted next (PENDING only)',
      resolve: (d) => (d.status === 'PENDING' ? d.nextAttemptAt : null),
    }),
    lastAttemptAt: t.expose('lastAttemptAt', {
      type: 'DateTime',
      nullable: true,
      description: 'The last attempt',
    }),
    responseStatus: t.exposeInt('responseStatus', {
      nullable: true,
      description: "The last attempt's HTTP status; null without an answer",
    }),
    durationMs: t.exposeInt('responseMs', { nullable: true, description: 'How long the last attempt took' }),
    responseBody: t.exposeString('responseBody', {
      nullable: true,
      description: 'The first 1,024 characters of the last answer',
    }),
    lastError: t.exposeString('lastError', {
      nullable: true,
      description: 'Why the last attempt failed (or why it was refused)',
    }),
    createdAt: t.expose('createdAt', {
      type: 'DateTime',
      description: 'When it was written (with its event)',
    }),
  }),
});

const DeliveryFilterInput = builder.inputType('WebhookDeliveryFilter', {
  description: 'All conditions given must hold.',
  fields: (t) => ({
    status: t.field({ type: DeliveryStatusEnum, required: false, description: 'Only this status' }),
    eventType: t.field({ type: WebhookEventTypeEnum, required: false, description: 'Only this event type' }),
    since: t.field({ type: 'DateTime', required: false, description: 'Only those written since then' }),
  }),
});

const DeliveryConnection = connection('WebhookDelivery', DeliveryRef);

export const WebhookRef = builder.objectRef<WebhookView>('Webhook').implement({
  description:
    "An endpoint of the account's own systems that receives its events, signed as the Standard Webhooks specification says. Its secret is shown once, at creation and at each rotation.",
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identity' }),
    name: t.exposeString('name', { description: `1 to ${MAX_NAME} characters` }),
    url: t.exposeString('url', { description: 'Where deliveries are POSTed' }),
    eventTypes: t.field({
      type: [WebhookEventTypeEnum],
      description: 'What it forwards',
      resolve: (w) => w.eventTypes.map(eventTypeName) as never,
    }),
    fields: t.exposeStringList('fields', {
      description:
        'Contact fields copied into payloads, and formAnswers for the answers of form submissions (empty: ids only, no personal data)',
    }),
    filter: t.withAuth(need('CONTACTS', 'GUEST')).field({
      type: 'JSON',
      nullable: true,
      description:
        'Only events of contacts matching this Criterion are sent, checked at their first attempt (CONTACTS >= GUEST: a criterion can hold contact data)',
      resolve: (w) => w.filter,
    }),
    ordered: t.exposeBoolean('ordered', {
      description:
        'true: one at a time in event order, a failure holding the rest; false: in parallel, each retried on its own',
    }),
    active: t.boolean({
      description: 'Collecting events: ACTIVE or FAILING',
      resolve: (w) => w.status === 'ACTIVE' || w.status === 'FAILING',
    }),
    status: t.field({
      type: WebhookStatusEnum,
      description: 'Whether it collects and delivers',
      resolve: (w) => w.status,
    }),
    statusReason: t.exposeString('statusReason', {
      nullable: true,
      description: 'Why it is not ACTIVE, when it says',
    }),
    secretHint: t.string({
      description: 'The end of the signing secret, to tell secrets apart',
      resolve: (w) => secretHint(w.secret),
    }),
    previousSecretUntil: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'During a rotation: until when the previous secret signs too',
      // MikroORM's execute returns timestamps as text.
      resolve: (w) => {
        const until = w.previousSecretUntil ? new Date(w.previousSecretUntil) : null;
        return until && until > new Date() ? until : null;
      },
    }),
    createdBy: t.field({
      ...inUsers,
      type: UserRef,
      nullable: true,
      description: 'Who created it; null when deleted, or below USERS >= GUEST',
      resolve: (w, _a, ctx) => colleagueOf(ctx, w.createdBy),
    }),
    lastDeliveryAt: t.expose('lastDeliveryAt', {
      type: 'DateTime',
      nullable: true,
      description: 'The last success',
    }),
    failureStreak: t.exposeInt('failureStreak', { description: 'Failed attempts since the last success' }),
    failingSince: t.expose('failingSince', {
      type: 'DateTime',
      nullable: true,
      description: 'The first failure since the last success',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed' }),
  }),
});

const WithSecretRef = builder
  .objectRef<{ webhook: WebhookView; secret: string }>('WebhookWithSecret')
  .implement({
    description: 'A webhook and its new signing secret, shown this once. A one-off answer, so it has no id.',
    fields: (t) => ({
      webhook: t.field({ type: WebhookRef, description: 'The webhook', resolve: (r) => r.webhook }),
      secret: t.exposeString('secret', {
        description: 'whsec_ and the base64 of 32 random bytes: keep it, it is not shown again',
      }),
    }),
  });

const WebhookInput = builder.inputType('WebhookInput', {
  description: 'A webhook; on update only what is given changes (filter: null removes it).',
  fields: (t) => ({
    name: t.string({ required: false, description: `1 to ${MAX_NAME} characters (required at creation)` }),
    url: t.string({
      required: false,
      description:
        'https (http and private addresses only with WEBHOOKS_ALLOW_PRIVATE); required at creation',
    }),
    eventTypes: t.field({
      type: [WebhookEventTypeEnum],
      required: false,
      description: 'What to forward, at least one (required at creation)',
    }),
    fields: t.stringList({
      required: false,
      description: `Contact fields to copy into payloads (and formAnswers: a form.submitted payload's answers), at most ${MAX_FIELDS}; none by default`,
    }),
    filter: t.field({
      type: CriterionInput,
      required: false,
      description: 'Only events of contacts matching it',
    }),
    ordered: t.boolean({ required: false, description: 'In event order (default true)' }),
  }),
});

const input = (i: typeof WebhookInput.$inferInput) => ({
  ...i,
  eventTypes: i.eventTypes as string[] | null | undefined,
});

builder.queryField('webhooks', (t) =>
  t.withAuth(read).field({
    type: [WebhookRef],
    description: 'The webhooks of the account, by name.',
    resolve: (_r, _a, ctx) => listWebhooks(ctx.em, ctx.viewer.accountId),
  }),
);

builder.queryField('webhook', (t) =>
  t.withAuth(read).field({
    type: WebhookRef,
    description: "One webhook; NOT_FOUND for unknown ids, other accounts' included.",
    args: { id: t.arg.id({ required: true, description: 'The webhook' }) },
    resolve: (_r, a, ctx) => findWebhook(ctx.em, ctx.viewer.accountId, String(a.id)),
  }),
);

builder.queryField('webhookDeliveries', (t) =>
  t.withAuth(read).field({
    type: DeliveryConnection,
    description: 'Deliveries of a webhook, newest first; at most 200 per page.',
    args: {
      webhookId: t.arg.id({ required: true, description: 'The webhook' }),
      filter: t.arg({
        type: DeliveryFilterInput,
        required: false,
        description: 'Which deliveries; all by default',
      }),
      first: t.arg.int({ required: false, description: 'Per page, 1 to 200, default 50' }),
      after: t.arg.string({ required: false, description: 'The endCursor of the previous page' }),
    },
    resolve: (_r, a, ctx) =>
      listDeliveries(
        ctx.em,
        ctx.viewer.accountId,
        String(a.webhookId),
        (a.filter ?? {}) as DeliveryFilter,
        a.first,
        a.after,
      ),
  }),
);

builder.mutationField('createWebhook', (t) =>
  t.withAuth(edit).field({
    type: WithSecretRef,
    description:
      'Creates a webhook, INACTIVE until an approver activates it, and shows its secret once. BAD_USER_INPUT names the wrong part.',
    args: { input: t.arg({ type: WebhookInput, required: true, description: 'The webhook' }) },
    resolve: (_r, a, ctx) => createWebhook(ctx, input(a.input)),
  }),
);

builder.mutationField('updateWebhook', (t) =>
  t.withAuth(edit).field({
    type: WebhookRef,
    description:
      'Changes a webhook. Changed by a non-approver, its url, event types, fields or filter switch it to INACTIVE until an approver activates it again.',
    args: {
      id: t.arg.id({ required: true, description: 'The webhook' }),
      input: t.arg({ type: WebhookInput, required: true, description: 'What changes' }),
    },
    resolve: (_r, a, ctx) => updateWebhook(ctx, String(a.id), input(a.input)),
  }),
);

builder.mutationField('deleteWebhook', (t) =>
  t.withAuth(edit).id({
    description: 'Deletes a webhook and its deliveries; returns its id.',
    args: { id: t.arg.id({ required: true, description: 'The webhook' }) },
    resolve: (_r, a, ctx) => deleteWebhook(ctx, String(a.id)),
  }),
);

builder.mutationField('activateWebhook', (t) =>
  t.withAuth(approve).field({
    type: WebhookRef,
    description:
      'Switches a webhook on (from any status): data then leaves the account. What waits is due at once.',
    args: { id: t.arg.id({ required: true, description: 'The webhook' }) },
    resolve: (_r, a, ctx) => activateWebhook(ctx, String(a.id)),
  }),
);

builder.mutationField('deactivateWebhook', (t) =>
  t.withAuth(edit).field({
    type: WebhookRef,
    description:
      'Switches a webhook off: nothing more is collected; what waits stays until it is activated again.',
    args: { id: t.arg.id({ required: true, description: 'The webhook' }) },
    resolve: (_r, a, ctx) => deactivateWebhook(ctx, String(a.id)),
  }),
);

builder.mutationField('rotateWebhookSecret', (t) =>
  t.withAuth(approve).field({
    type: WithSecretRef,
    description:
      'A new signing secret, shown once; for 24 hours requests carry both signatures, the new and the old.',
    args: { id: t.arg.id({ required: true, description: 'The webhook' }) },
    resolve: (_r, a, ctx) => rotateWebhookSecret(ctx, String(a.id)),
  }),
);

builder.mutationField('redeliver', (t) =>
  t.withAuth(edit).field({
    type: DeliveryRef,
    description: 'Sends a delivery again (same webhook-id), due now with a fresh schedule.',
    args: { id: t.arg.id({ required: true, description: 'The delivery' }) },
    resolve: (_r, a, ctx) => redeliver(ctx, String(a.id)),
  }),
);

builder.mutationField('replayWebhook', (t) =>
  t.withAuth(edit).int({
    description:
      'Sends again, in order, every delivery of the webhook written since a time that succeeded or failed; returns how many.',
    args: {
      id: t.arg.id({ required: true, description: 'The webhook' }),
      since: t.arg({ type: 'DateTime', required: true, description: 'From when' }),
    },
    resolve: (_r, a, ctx) => replayWebhook(ctx, String(a.id), a.since as Date),
  }),
);

builder.mutationField('sendTestWebhook', (t) =>
  t.withAuth(edit).field({
    type: DeliveryRef,
    description:
      'Posts a signed webhook.test message now, whatever the status, and returns its outcome (tried once).',
    args: { id: t.arg.id({ required: true, description: 'The webhook' }) },
    resolve: (_r, a, ctx) => sendTestWebhook(ctx, webhookPoster(ctx.app), String(a.id)),
  }),
);

const FailureRef = builder.objectRef<DeliveryFailedEvent>('WebhookDeliveryFailure').implement({
  description:
    'A failed delivery attempt, as it happens. Its delivery is the identity (a snapshot, so no id of its own).',
  fields: (t) => ({
    deliveryId: t.exposeID('deliveryId', { description: 'The delivery' }),
    webhookId: t.exposeID('webhookId', { description: 'The webhook' }),
    eventType: t.field({
      type: WebhookEventTypeEnum,
      description: 'What happened',
      resolve: (f) => eventTypeName(f.eventType) as never,
    }),
    attempts: t.exposeInt('attempts', { description: 'Attempts made so far' }),
    responseStatus: t.exposeInt('responseStatus', {
      nullable: true,
      description: 'HTTP status; null without an answer',
    }),
    error: t.exposeString('error', { description: 'What went wrong' }),
    nextAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'The next attempt; null when it gave up (final)',
      resolve: (f) => (f.nextAttemptAt ? new Date(f.nextAttemptAt) : null),
    }),
    final: t.exposeBoolean('final', { description: 'true: no attempt is left (FAILED)' }),
  }),
});

builder.subscriptionField('webhookDeliveryFailed', (t) =>
  t.withAuth(read).field({
    type: FailureRef,
    description: 'Failed delivery attempts of your webhooks as they happen.',
    subscribe: (_r, _a, ctx) => ctx.app.pubsub.subscribe('webhookDeliveryFailed', ctx.viewer.accountId),
    resolve: (f) => f,
  }),
);
