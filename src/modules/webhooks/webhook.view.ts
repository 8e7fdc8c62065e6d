import type { Criterion } from '../targeting/criterion.js';
import type { DeliveryStatus, WebhookStatus } from './webhook.entity.js';

export interface WebhookView {
  id: string;
  accountId: string;
  name: string;
  url: string;
  eventTypes: string[];
  fields: string[];
  filter: Criterion | null;
  ordered: boolean;
  status: WebhookStatus;
  statusReason: string | null;
  secret: string;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
  lastDeliveryAt: Date | null;
  failureStreak: number;
  failingSince: Date | null;
  previousSecretUntil: Date | null;
}

export const WEBHOOK_SELECT = `select w.id, w.account_id as "accountId", w.name, w.url, w.event_types as "eventTypes",
  w.fields, w.filter, w.ordered, w.status, w.status_reason as "statusReason", w.secret, w.created_by as "createdBy",
  w.created_at as "createdAt", w.updated_at as "updatedAt", w.last_delivery_at as "lastDeliveryAt",
  w.failure_streak as "failureStreak", w.failing_since as "failingSince",
  w.previous_secret_until as "previousSecretUntil" from webhook w`;

export interface DeliveryView {
  id: string;
  webhookId: string;
  eventType: string;
  payload: Record<string, unknown>;
  occurredAt: Date;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastAttemptAt: Date | null;
  responseStatus: number | null;
  responseMs: number | null;
  responseBody: string | null;
  lastError: string | null;
  createdAt: Date;
}

export const DELIVERY_SELECT = `select d.id::text, d.webhook_id as "webhookId", d.event_type as "eventType", d.payload,
  d.occurred_at as "occurredAt", d.status, d.attempts, d.next_attempt_at as "nextAttemptAt",
  d.last_attempt_at as "lastAttemptAt", d.response_status as "responseStatus", d.response_ms as "responseMs",
  d.response_body as "responseBody", d.last_error as "lastError", d.created_at as "createdAt" from webhook_delivery d`;

/** What webhookDeliveryFailed streams (plain JSON: it may cross Redis). */
export interface DeliveryFailedEvent {
  deliveryId: string;
  webhookId: string;
  eventType: string;
  attempts: number;
  responseStatus: number | null;
  error: string;
  nextAttemptAt: string | null;
  final: boolean;
}
