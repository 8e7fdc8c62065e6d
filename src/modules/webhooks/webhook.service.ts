import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthedContext } from '../../context.js';
import { badInput, conflict, notFound } from '../../shared/errors.js';
import { isUuid } from '../../shared/ids.js';
import { atLeast } from '../access/access.js';
import { mutate } from '../audit/audit.service.js';
import { loadFields } from '../contacts/fields.js';
import { normaliseCriterion } from '../targeting/criterion.js';
import { expandSegments, refuseUnknownRefs } from '../targeting/criterion.refs.js';
import { loadTargetEnv } from '../targeting/target-env.js';
import { webhookClock } from './webhook.clock.js';
import { WEBHOOK_EVENT_TYPES } from './webhook.events.js';
import { urlProblem } from './webhook.http.js';
import { newSecret } from './webhook.sign.js';
import { WEBHOOK_SELECT, type WebhookView } from './webhook.view.js';

export const MAX_NAME = 200;
export const MAX_URL = 2000;
export const MAX_FIELDS = 50;
export const MAX_WEBHOOKS = 20;
/**
 * Beside the contact fields: what a contact's statuses are, often what an integration needs, and
 * `formAnswers`, the answers of a form.submitted payload (personal data, so only when named).
 */
const STATUS_FIELDS = ['emailStatus', 'smsStatus', 'formAnswers'];
/** During a rotation the old secret signs too, for this long. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;
/** A text[] from a JSON array: MikroORM spreads a JS array bound to `?` into a list. */
const TEXT_ARRAY = 'array(select jsonb_array_elements_text(?::jsonb))';

export interface WebhookInput {
  name?: string | null;
  url?: string | null;
  eventTypes?: string[] | null;
  fields?: string[] | null;
  filter?: unknown;
  ordered?: boolean | null;
}

export async function findWebhook(em: EntityManager, accountId: string, id: string, lock = false) {
  const rows = isUuid(id)
    ? await em.execute<WebhookView[]>(
        `${WEBHOOK_SELECT} where w.account_id = ? and w.id = ?${lock ? ' for update' : ''}`,
        [accountId, id],
      )
    : [];
  if (!rows[0]) throw notFound('Webhook');
  return rows[0];
}

export const listWebhooks = (em: EntityManager, accountId: string) =>
  em.execute<WebhookView[]>(`${WEBHOOK_SELECT} where w.account_id = ? order by w.name, w.id`, [accountId]);

interface Checked {
  name?: string;
  url?: string;
  eventTypes?: string[];
  fields?: string[];
  filter?: unknown;
  ordered?: boolean;
}

/** Each given part checked; `filter: null` removes the filter. */
async function check(ctx: AuthedContext, em: EntityManager, input: WebhookInput): Promise<Checked> {
  const out: Checked = {};
  if (input.name != null) {
    const name = input.name.trim();
    if (!name || name.length > MAX_NAME)
      throw badInput(`name must have 1 to ${MAX_NAME} characters`, { field: 'name' });
    out.name = name;
  }
  if (input.url != null) {
    const url = input.url.trim();
    const problem =
      url.length > MAX_URL
        ? `url must have at most ${MAX_URL} characters`
        : urlProblem(url, ctx.app.config.webhooks.allowPrivate);
    if (problem) throw badInput(problem, { field: 'url' });
    out.url = url;
  }
  if (input.eventTypes != null) {
    if (!input.eventTypes.length)
      throw badInput('eventTypes must name at least one event type', { field: 'eventTypes' });
    // TEST names sendTestWebhook's messages in deliveries; nothing happens that it could forward.
    if (input.eventTypes.some((t) => !WEBHOOK_EVENT_TYPES[t]))
      throw badInput('eventTypes: TEST is not an event to forward', { field: 'eventTypes' });
    out.eventTypes = [...new Set(input.eventTypes.map((t) => WEBHOOK_EVENT_TYPES[t]))];
  }
  if (input.fields != null) {
    if (input.fields.length > MAX_FIELDS) throw badInput(`at most ${MAX_FIELDS} fields`, { field: 'fields' });
    const known = await loadFields(em, ctx.viewer.accountId);
    const unknown = input.fields.filter((f) => !known.has(f) && !STATUS_FIELDS.includes(f));
    if (unknown.length)
      throw badInput(
        `fields: ${unknown.map((f) => JSON.stringify(f)).join(', ')} not a contact field of this account`,
        {
          field: 'fields',
        },
      );
    out.fields = [...new Set(input.fields)];
  }
  if (input.filter !== undefined) {
    if (input.filter === null) out.filter = null;
    else {
      const env = await loadTargetEnv(em, ctx.viewer.accountId);
      refuseUnknownRefs(input.filter, env);
      const criterion = normaliseCriterion(input.filter, env, 'filter');
      expandSegments(criterion, env.segments);
      out.filter = criterion;
    }
  }
  if (input.ordered != null) out.ordered = input.ordered;
  return out;
}

const diffOf = (c: Checked) => ({ ...c });

export async function createWebhook(ctx: AuthedContext, input: WebhookInput) {
  const { accountId, userId } = ctx.viewer;
  return mutate(ctx, async ({ em, audit }) => {
    const c = await check(ctx, em, input);
    if (!c.name || !c.url || !c.eventTypes) throw badInput('name, url and eventTypes are required');
    // The account row lock serialises creations: the limit holds under concurrent calls.
    await em.execute('select 1 from account where id = ? for update', [accountId]);
    const [{ n }] = await em.execute<{ n: number }[]>(
      'select count(*)::int as n from webhook where account_id = ?',
      [accountId],
    );
    if (n >= MAX_WEBHOOKS)
      throw conflict(`An account has at most ${MAX_WEBHOOKS} webhooks`, { reason: 'TOO_MANY_WEBHOOKS' });
    const secret = newSecret();
    const [row] = await em.execute<{ id: string }[]>(
      `insert into webhook (account_id, name, url, event_types, fields, filter, ordered, secret, created_by)
       values (?, ?, ?, ${TEXT_ARRAY}, ${TEXT_ARRAY}, ?::jsonb, ?, ?, ?) returning id`,
      [
        accountId,
        c.name,
        c.url,
        JSON.stringify(c.eventTypes),
        JSON.stringify(c.fields ?? []),
        c.filter == null ? null : JSON.stringify(c.filter),
        c.ordered ?? true,
        secret,
        userId,
      ],
    );
    audit({
      action: 'createWebhook',
      feature: 'WEBHOOKS',
      objectType: 'Webhook',
      objectId: row.id,
      diff: diffOf(c),
    });
    return { webhook: await findWebhook(em, accountId, row.id), secret };
  });
}

/**
 * An edit by someone who may not activate (below WEBHOOKS = APPROVER) of where data goes or what
 * it holds switches a collecting webhook off: data leaves the account only as an approver saw it.
 */
export async function updateWebhook(ctx: AuthedContext, id: string, input: WebhookInput) {
  const { accountId } = ctx.viewer;
  return mutate(ctx, async ({ em, audit }) => {
    const before = await findWebhook(em, accountId, id, true);
    const c = await check(ctx, em, input);
    const sets: string[] = [];
    const params: unknown[] = [];
    const put = (col: string, v: unknown, placeholder = '?') => {
      sets.push(`${col} = ${placeholder}`);
      params.push(v);
    };
    if (c.name !== undefined) put('name', c.name);
    if (c.url !== undefined) put('url', c.url);
    if (c.eventTypes !== undefined) put('event_types', JSON.stringify(c.eventTypes), TEXT_ARRAY);
    if (c.fields !== undefined) put('fields', JSON.stringify(c.fields), TEXT_ARRAY);
    if (c.filter !== undefined)
      put('filter', c.filter === null ? null : JSON.stringify(c.filter), '?::jsonb');
    if (c.ordered !== undefined) put('ordered', c.ordered);
    if (!sets.length) return before;
    const sensitive = ['url', 'eventTypes', 'fields', 'filter'].some((k) => k in c);
    const approver = ctx.viewer.isOwner || atLeast(ctx.viewer.rights.WEBHOOKS, 'APPROVER');
    const off = sensitive && !approver && before.status !== 'INACTIVE';
    if (off) {
      put('status', 'INACTIVE');
      put('status_reason', `edited by ${ctx.viewer.email}: an approver must activate it again`);
    }
    await em.execute(`update webhook set ${sets.join(', ')}, updated_at = now() where id = ?`, [
      ...params,
      id,
    ]);
    audit({
      action: 'updateWebhook',
      feature: 'WEBHOOKS',
      objectType: 'Webhook',
      objectId: id,
      diff: { ...diffOf(c), ...(off ? { status: 'INACTIVE' } : {}) },
    });
    return findWebhook(em, accountId, id);
  });
}

export async function deleteWebhook(ctx: AuthedContext, id: string): Promise<string> {
  const { accountId } = ctx.viewer;
  return mutate(ctx, async ({ em, audit }) => {
    const w = await findWebhook(em, accountId, id, true);
    await em.execute('delete from webhook where id = ?', [id]);
    audit({
      action: 'deleteWebhook',
      feature: 'WEBHOOKS',
      objectType: 'Webhook',
      objectId: id,
      diff: { name: w.name },
    });
    return id;
  });
}

/** ACTIVE again from any status: the failure streak restarts and what waits is due at once. */
export async function activateWebhook(ctx: AuthedContext, id: string) {
  return setStatus(ctx, id, 'ACTIVE', 'activateWebhook');
}

export async function deactivateWebhook(ctx: AuthedContext, id: string) {
  return setStatus(ctx, id, 'INACTIVE', 'deactivateWebhook');
}

async function setStatus(ctx: AuthedContext, id: string, status: 'ACTIVE' | 'INACTIVE', action: string) {
  const { accountId } = ctx.viewer;
  return mutate(ctx, async ({ em, audit }) => {
    const before = await findWebhook(em, accountId, id, true);
    if (before.status === status) return before;
    await em.execute(
      `update webhook set status = ?, status_reason = ?, failure_streak = 0, failing_since = null, updated_at = now() where id = ?`,
      [status, status === 'INACTIVE' ? `deactivated by ${ctx.viewer.email}` : null, id],
    );
    if (status === 'ACTIVE')
      await em.execute(
        `update webhook_delivery set next_attempt_at = least(next_attempt_at, ?) where webhook_id = ? and status = 'PENDING'`,
        [webhookClock.now(), id],
      );
    audit({
      action,
      feature: 'WEBHOOKS',
      objectType: 'Webhook',
      objectId: id,
      diff: { status: [before.status, status] },
    });
    return findWebhook(em, accountId, id);
  });
}

/** A new secret, shown once; the old one keeps signing beside it for ROTATION_OVERLAP_MS. */
export async function rotateWebhookSecret(ctx: AuthedContext, id: string) {
  const { accountId } = ctx.viewer;
  return mutate(ctx, async ({ em, audit }) => {
    await findWebhook(em, accountId, id, true);
    const secret = newSecret();
    await em.execute(
      `update webhook set previous_secret = secret, previous_secret_until = ?, secret = ?, updated_at = now() where id = ?`,
      [new Date(webhookClock.now().getTime() + ROTATION_OVERLAP_MS), secret, id],
    );
    audit({
      action: 'rotateWebhookSecret',
      feature: 'WEBHOOKS',
      objectType: 'Webhook',
      objectId: id,
      diff: null,
    });
    return { webhook: await findWebhook(em, accountId, id), secret };
  });
}
