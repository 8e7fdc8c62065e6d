import { EVENT_TYPES, type EventType } from '../events/event.entity.js';

/**
 * What a webhook can forward, as the GraphQL enum names it, and the `type` its payloads carry
 * (Standard Webhooks' dotted form: `contact.created`). Each one is written into the outbox by a
 * PostgreSQL trigger on the table the change lands in (the migration *WebhookOutbox*), so every
 * write path, present and future, feeds it in its own transaction.
 *
 * - behaviour events, one per EVENT_TYPES entry: `event.email_open`, ... (contact_event);
 * - `bounce.recorded`: a bounce row, with its classification (bounce);
 * - `contact.created`, `contact.updated` (with the fields that changed), `contact.deleted` (contact);
 * - `score.changed`: a contact's value of a score moved (contact_score);
 * - `operation.status_changed`: an Emailing or SMS operation changed status (operation).
 * - `form.submitted`: a form or survey submission, with its answers when the webhook names the
 *   pseudo-field `formAnswers` (form_submission). Each one is also a FORM_SUBMIT behaviour event.
 * `webhook.test` is sendTestWebhook's.
 */
export const OTHER_EVENT_TYPES = {
  BOUNCE_RECORDED: 'bounce.recorded',
  CONTACT_CREATED: 'contact.created',
  CONTACT_UPDATED: 'contact.updated',
  CONTACT_DELETED: 'contact.deleted',
  SCORE_CHANGED: 'score.changed',
  OPERATION_STATUS_CHANGED: 'operation.status_changed',
  FORM_SUBMITTED: 'form.submitted',
} as const;

export const behaviourType = (t: EventType) => `event.${t.toLowerCase()}`;

/** Enum name -> payload type, behaviour events first in EVENT_TYPES order. */
export const WEBHOOK_EVENT_TYPES: Record<string, string> = {
  ...Object.fromEntries(EVENT_TYPES.map((t) => [t, behaviourType(t)])),
  ...OTHER_EVENT_TYPES,
};

export const TEST_EVENT_TYPE = 'webhook.test';

const BY_TYPE = new Map(Object.entries(WEBHOOK_EVENT_TYPES).map(([name, type]) => [type, name]));

/** The enum name of a stored payload type (webhook.test has none of its own: TEST). */
export const eventTypeName = (type: string) => BY_TYPE.get(type) ?? 'TEST';
