import type { GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import './shared/scalars.js';
import './modules/access/access.schema.js';
import './modules/users/users.schema.js';
import './modules/account/account.schema.js';
import './modules/audit/audit.schema.js';
import './modules/mail/outbox.schema.js';
import './modules/contacts/contact.schema.js';
import './modules/contacts/contact-field.schema.js';
import './modules/contacts/import.schema.js';
import './modules/events/event.schema.js';
import './modules/targeting/criterion.schema.js';
import './modules/scores/score.schema.js';
import './modules/scores/score-run.schema.js';
import './modules/segments/segment.schema.js';
import './modules/operations/operation.schema.js';
import './modules/operations/operation.send.schema.js';
import './modules/operations/operation.duplicate.js';
import './modules/operations/operation.stats.schema.js';
import './modules/sending/sending.schema.js';
import './modules/credits/credit.schema.js';
import './modules/invoices/invoice.schema.js';
import './modules/senders/sender.schema.js';
import './modules/bounces/bounce.schema.js';
import './modules/webhooks/webhook.schema.js';
import './modules/forms/form.schema.js';
import { assertEveryRootFieldScoped, assertScopedDataFields } from './modules/access/scope-map.js';
import { assertEverySubscriptionLive, liveSubscriptions } from './realtime/live.js';

let schema: GraphQLSchema | null = null;

/**
 * The schema, built once; refuses to exist if any root field or listed data field lacks a
 * declared scope. Every Subscription field re-checks its scopes before each event (live.ts).
 */
export function buildSchema(): GraphQLSchema {
  if (!schema) {
    const built = builder.toSchema({ sortSchema: false });
    assertEveryRootFieldScoped(built);
    assertScopedDataFields(built);
    liveSubscriptions(built);
    assertEverySubscriptionLive(built);
    schema = built;
  }
  return schema;
}
