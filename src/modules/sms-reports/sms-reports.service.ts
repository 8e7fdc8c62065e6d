import type { AppServices } from '../../context.js';
import { retryTransaction } from '../../db/retry.js';
import { clip, storable } from '../../shared/text.js';
import { lockAccountForContactWrite } from '../contacts/contact.locks.js';
import { eventCode } from '../events/event.entity.js';
import { insertEvents } from '../events/event.service.js';
import { SMS_DELIVERY_STATUSES, type SmsDeliveryStatus } from '../sending/sending.entity.js';
import { normalisePhone } from '../users/credentials.js';

/** A gateway's delivery report, as POST /sms/status carries it, checked. */
export interface DeliveryReport {
  /** Our message id, `<operationId>.<contactId>`: the `reference` the SMS transport gave the gateway. */
  reference: string;
  status: SmsDeliveryStatus;
  errorCode: string | null;
  parts: number | null;
  /** When the gateway says it happened (never later than now); null: now. */
  at: Date | null;
  /** The number it went to, when the gateway says, normalised ('' when it is not a number). */
  to: string | null;
}

export type ReportOutcome = 'RECORDED' | 'DUPLICATE' | 'UNKNOWN';

const REFERENCE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([1-9][0-9]{0,17})$/;
/** Longer than any gateway's error code; past it the value is not one. */
const MAX_ERROR_CODE = 64;

/** The report in a signed body, or a message saying what is wrong with it (the endpoint's 400). */
export function parseReport(body: Record<string, unknown> | null): DeliveryReport | string {
  const shape =
    'expected JSON { reference, status, errorCode?, parts?, timestamp?, to? } with status one of DELIVERED, FAILED, EXPIRED, REJECTED';
  if (!body) return shape;
  const { reference, status, errorCode, parts, timestamp, to } = body;
  if (typeof reference !== 'string' || !reference.trim() || reference.length > 200)
    return `${shape}: reference must be the message's reference, a non-empty string`;
  const s = typeof status === 'string' ? status.trim().toUpperCase() : null;
  if (!s || !(SMS_DELIVERY_STATUSES as readonly string[]).includes(s))
    return `status must be one of ${SMS_DELIVERY_STATUSES.join(', ')}`;
  let code: string | null = null;
  if (errorCode != null) {
    if (
      (typeof errorCode !== 'string' && typeof errorCode !== 'number') ||
      String(errorCode).length > MAX_ERROR_CODE
    )
      return `errorCode must be a string or a number of at most ${MAX_ERROR_CODE} characters`;
    code = storable(String(errorCode));
  }
  if (parts != null && !(Number.isInteger(parts) && (parts as number) >= 1 && (parts as number) <= 255))
    return 'parts must be an integer from 1 to 255';
  let at: Date | null = null;
  if (timestamp != null) {
    at = typeof timestamp === 'string' && timestamp.length <= 40 ? new Date(timestamp) : null;
    if (!at || Number.isNaN(at.getTime())) return 'timestamp must be an ISO 8601 date-time';
    if (at.getTime() > Date.now()) at = new Date();
  }
  if (to != null && typeof to !== 'string') return 'to must be a string';
  return {
    reference: reference.trim(),
    status: s as SmsDeliveryStatus,
    errorCode: code,
    parts: (parts as number | null | undefined) ?? null,
    at,
    to: to == null ? null : numberOf(to),
  };
}

/** `to` as recipients store numbers (credentials.ts normalisePhone); '' matches no recipient. */
function numberOf(to: string): string {
  try {
    return normalisePhone(to) ?? '';
  } catch {
    return '';
  }
}

/** Gateways write E.164 with or without its '+': 33612345678 is +33612345678. */
const sameNumber = (a: string, b: string) => a !== '' && a.replace(/^\+/, '') === b.replace(/^\+/, '');

interface Recipient {
  account_id: string;
  address: string;
  delivery: string | null;
}

/**
 * Records a delivery report on the recipient row it names, once, in one transaction (rerun on a
 * deadlock). The row must be of an SMS operation and handed to the gateway at least once
 * (attempts > 0; a report can arrive before the worker recorded it SENT), and match `to` when
 * given. The first report wins: the row's `delivery` is set only while null, so a repeated or
 * concurrent report, or a later one with another status, is a DUPLICATE and counts nothing.
 *
 * - DELIVERED: an SMS_DELIVERED event carrying the operation, operation_send.sms_delivered + 1.
 * - FAILED, EXPIRED, REJECTED: a BOUNCE event carrying the operation (as a gateway's refusal at
 *   send time records one), operation_send.sms_failed + 1, the error code in last_error; FAILED
 *   (the network could not deliver to the number) also makes a SUBSCRIBED contact that still has
 *   this number INVALID, so later freezes exclude it (HARD_BOUNCED). EXPIRED (the phone was off
 *   or out of reach for the validity period) and REJECTED (the carrier or gateway refused this
 *   message: content, sender id, filtering) say nothing certain about the number.
 *
 * Lock order: the account FOR SHARE (the order of contact writes) when a contact may change,
 * then the recipient row, then the contact.
 */
export async function applyDeliveryReport(app: AppServices, report: DeliveryReport): Promise<ReportOutcome> {
  const m = REFERENCE.exec(report.reference);
  if (!m) return 'UNKNOWN';
  const [, operationId, contactId] = m;
  return retryTransaction(() =>
    app.orm.em.fork().transactional(async (em) => {
      const [r] = await em.execute<Recipient[]>(
        `select r.account_id, r.address, r.delivery from operation_recipient r
           join operation o on o.id = r.operation_id and o.kind = 'SMS'
          where r.operation_id = ? and r.contact_id = ? and r.attempts > 0`,
        [operationId, contactId],
        'all',
      );
      if (!r || (report.to !== null && !sameNumber(report.to, r.address))) return 'UNKNOWN';
      if (r.delivery) return 'DUPLICATE';
      const delivered = report.status === 'DELIVERED';
      if (report.status === 'FAILED') await lockAccountForContactWrite(em, r.account_id);
      const note = delivered
        ? null
        : clip(
            `delivery report: ${report.status}${report.errorCode ? ` (error ${report.errorCode})` : ''}`,
            1000,
          );
      const updated = await em.execute<{ contact_id: string }[]>(
        `update operation_recipient set delivery = ?, last_error = coalesce(?, last_error)
          where operation_id = ? and contact_id = ? and delivery is null returning contact_id`,
        [report.status, note, operationId, contactId],
        'all',
      );
      if (!updated.length) return 'DUPLICATE';
      await em.execute(
        `update operation_send set ${delivered ? 'sms_delivered = sms_delivered' : 'sms_failed = sms_failed'} + 1
          where operation_id = ?`,
        [operationId],
        'run',
      );
      if (report.status === 'FAILED')
        await em.execute(
          `update contact set sms_status = 'INVALID', updated_at = now()
            where account_id = ? and id = ? and sms_status = 'SUBSCRIBED' and phone = ?`,
          [r.account_id, contactId, r.address],
          'run',
        );
      const event = {
        contact_id: contactId,
        type: eventCode(delivered ? 'SMS_DELIVERED' : 'BOUNCE'),
        occurred_at: (report.at ?? new Date()).toISOString(),
        operation_id: operationId,
        form_id: null,
        url: null,
      };
      await insertEvents(em, r.account_id, JSON.stringify([event]));
      return 'RECORDED';
    }),
  );
}
