import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthedContext } from '../../context.js';
import { AppError, badInput, forbidden } from '../../shared/errors.js';
import { atLeast } from '../access/access.js';
import { mutate } from '../audit/audit.service.js';
import type { MergeData } from '../messaging/template.js';
import { SmsGatewayError } from '../transport/sms.js';
import { transportsFor } from '../transport/transports.js';
import { normaliseEmail, normalisePhone } from '../users/credentials.js';
import { checkMessage } from './operation.content.js';
import { OperationTestSend } from './operation.entity.js';
import { mergeDataOf, type RenderedMessage, renderOperationMessage } from './operation.preview.js';
import { findOperation, type OperationView } from './operation.repository.js';
import { featureOf, requireKind } from './operation.rights.js';

export const MAX_TEST_RECIPIENTS = 5;
/** Test messages per operation per rolling hour, whoever sends them. */
export const TEST_SENDS_PER_HOUR = 20;
export const TEST_PREFIX = '[TEST] ';

export type TestDelivery = 'SENT' | 'REJECTED' | 'FAILED';

export interface TestSendRecipient {
  to: string;
  status: TestDelivery;
  /** The SMTP server's or the gateway's answer, or why it failed. */
  response: string;
}

export interface TestSendResult {
  operation: OperationView;
  recipients: TestSendRecipient[];
  /** Test messages this operation may still send in the current hour. */
  remaining: number;
}

/**
 * Sends the operation's message, marked as a test, to at most five users of the account: an
 * EDITOR may check the rendering in a real inbox but cannot mail anyone outside the account
 * without validation. The recipients are the active users' emails (EMAILING) or phones (SMS).
 *
 * The message is the one renderOperationMessage renders (the preview's), through the transports
 * real sends use, with "[TEST] " before the subject (or the SMS text) and `X-Cible-Test: 1`.
 * Merge tags are filled from `contactId` (which needs CONTACTS >= GUEST: the contact's data lands
 * in the users' inboxes) or, without it, left to their defaults.
 *
 * The operation row is locked for the call, so concurrent calls count against one hourly limit.
 * Delivery happens inside the transaction: a refusal is reported per recipient and the call, its
 * count and its audit entry commit together. A commit that fails after the handover leaves a test
 * message without its history entry: the one gap, accepted for a message sent only to the account's
 * own users. Real sends go through the engine's outbox and jobs instead (issue 13).
 */
export async function sendTestOperation(
  ctx: AuthedContext,
  id: string,
  to: readonly string[],
  contactId: string | null,
): Promise<TestSendResult> {
  const { accountId, userId } = ctx.viewer;
  return mutate(ctx, async ({ em, audit }) => {
    const op = await findOperation(em, accountId, id, true);
    requireKind(ctx.viewer, op.kind, 'EDITOR', 'Test-sending');
    const addresses = await checkRecipients(em, accountId, op.kind, to);
    if (contactId != null && !atLeast(ctx.viewer.rights.CONTACTS, 'GUEST'))
      throw forbidden("Filling a test with a contact's data needs CONTACTS >= GUEST");
    await checkMessage(em, accountId, op.kind, op.content);
    const used = await sentThisHour(em, op.id);
    if (used + addresses.length > TEST_SENDS_PER_HOUR)
      throw new AppError(
        'RATE_LIMITED',
        `At most ${TEST_SENDS_PER_HOUR} test messages per operation per hour: ${Math.max(0, TEST_SENDS_PER_HOUR - used)} left`,
        { remaining: Math.max(0, TEST_SENDS_PER_HOUR - used) },
      );
    const data: MergeData =
      contactId != null ? await mergeDataOf(ctx, contactId) : { contact: {}, scores: {} };
    const message = renderOperationMessage(op.kind, op.content, data);
    const recipients: TestSendRecipient[] = [];
    for (const address of addresses) recipients.push(await deliver(ctx, em, op, message, address));
    em.create(OperationTestSend, {
      account: accountId,
      operation: op.id,
      userId,
      recipients: addresses.length,
      createdAt: new Date(),
    });
    await em.flush();
    audit({
      action: 'sendTestOperation',
      feature: featureOf(op.kind),
      objectType: 'Operation',
      objectId: op.id,
      diff: { version: op.version, contactId, recipients },
    });
    return { operation: op, recipients, remaining: TEST_SENDS_PER_HOUR - used - addresses.length };
  });
}

/** The addresses, normalised and deduplicated; BAD_USER_INPUT naming any that is not a user's. */
async function checkRecipients(
  em: EntityManager,
  accountId: string,
  kind: OperationView['kind'],
  to: readonly string[],
): Promise<string[]> {
  const field = kind === 'EMAILING' ? 'email' : 'phone';
  if (to.length > MAX_TEST_RECIPIENTS)
    throw badInput(`to: give 1 to ${MAX_TEST_RECIPIENTS} recipients`, { field: 'to' });
  const wanted = [
    ...new Set(to.map((raw) => (kind === 'EMAILING' ? normaliseEmail(raw, 'to') : normalisePhoneOf(raw)))),
  ];
  if (wanted.length === 0 || wanted.length > MAX_TEST_RECIPIENTS)
    throw badInput(`to: give 1 to ${MAX_TEST_RECIPIENTS} recipients`, { field: 'to' });
  const rows = await em.execute<{ address: string }[]>(
    kind === 'EMAILING'
      ? `select lower(email) as address from app_user where account_id = ? and status = 'ACTIVE' and lower(email) in (?)`
      : `select phone as address from app_user where account_id = ? and status = 'ACTIVE' and phone in (?)`,
    [accountId, wanted],
  );
  const known = new Set(rows.map((r) => r.address));
  const strangers = wanted.filter((w) => !known.has(w));
  if (strangers.length)
    throw badInput(
      `to: test messages go only to active users of the account (their ${field}): ${strangers.join(', ')} is not one`,
      { field: 'to', refused: strangers },
    );
  return wanted;
}

function normalisePhoneOf(raw: string): string {
  const phone = normalisePhone(raw);
  if (!phone) throw badInput('to: a phone number is empty', { field: 'to' });
  return phone;
}

async function sentThisHour(em: EntityManager, operationId: string): Promise<number> {
  const [row] = await em.execute<{ n: string }[]>(
    `select coalesce(sum(recipients), 0) as n from operation_test_send
      where operation_id = ? and created_at > now() - interval '1 hour'`,
    [operationId],
  );
  return Number(row?.n ?? 0);
}

async function deliver(
  ctx: AuthedContext,
  em: EntityManager,
  op: OperationView,
  message: RenderedMessage,
  to: string,
): Promise<TestSendRecipient> {
  const transports = transportsFor(ctx.app.config);
  const messageId = `<test.${op.id}.${randomUUID()}@cible>`;
  try {
    if (message.kind === 'EMAILING') {
      const m = message.email;
      const r = await transports.email.send(em, {
        accountId: op.accountId,
        from: m.from,
        replyTo: m.replyTo,
        to,
        subject: TEST_PREFIX + m.subject,
        html: m.html,
        text: m.text,
        headers: { 'X-Cible-Test': '1' },
        messageId,
        kind: 'TEST',
      });
      return { to, status: r.rejected.length ? 'REJECTED' : 'SENT', response: r.response };
    }
    const r = await transports.sms.send(em, {
      accountId: op.accountId,
      from: message.sms.senderId,
      to,
      text: TEST_PREFIX + message.sms.text,
      messageId,
      kind: 'TEST',
    });
    return { to, status: 'SENT', response: r.gatewayId };
  } catch (err) {
    // A server that is down or a gateway that refuses: said for this recipient, not a stack trace.
    const status =
      err instanceof SmsGatewayError && err.status >= 400 && err.status < 500 ? 'REJECTED' : 'FAILED';
    ctx.app.logger.warn('test send failed', { operationId: op.id, error: (err as Error).message });
    return { to, status, response: (err as Error).message.slice(0, 500) };
  }
}
