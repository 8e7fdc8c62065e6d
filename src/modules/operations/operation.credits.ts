import type { EntityManager } from '@mikro-orm/postgresql';
import { toOrmBindings } from '../../db/positional.js';
import { AppError, conflict } from '../../shared/errors.js';
import type { CreditKind } from '../credits/credit.entity.js';
import { ormExec, releaseCredits, reserveCredits } from '../credits/credit.service.js';
import { loadTargetEnv } from '../targeting/target-env.js';
import { audienceCountStatement } from './operation.audience.js';
import { smsInfoOf } from './operation.content.js';
import type { OperationKind, OperationStatus, SmsContent } from './operation.entity.js';
import type { OperationView } from './operation.repository.js';

/** The statuses in which an operation holds credits: from its schedule to the end of its send. */
const HOLDING: ReadonlySet<OperationStatus> = new Set(['SCHEDULED', 'SENDING', 'PAUSED']);

export const creditKindOf = (kind: OperationKind): CreditKind => (kind === 'EMAILING' ? 'EMAIL' : 'SMS');

/** Credits per recipient: one email, or the SMS text's parts as written (at least one). */
export const perRecipientOf = (op: Pick<OperationView, 'kind' | 'content'>): number =>
  op.kind === 'EMAILING' ? 1 : Math.max(1, smsInfoOf(op.content as SmsContent).parts);

/**
 * At schedule, in its transaction: reserves the audience's credits as counted now (the count
 * Operation.audienceCount gives). CONFLICT INSUFFICIENT_CREDITS when short, and the schedule is
 * rolled back with it. The freeze resizes the reservation to the recipients really frozen.
 */
export async function reserveForSchedule(
  em: EntityManager,
  op: OperationView,
  showAmounts = true,
): Promise<void> {
  // A trigger reserves nothing yet: each run reserves for the contacts it adds.
  const statement = op.audience.trigger
    ? null
    : audienceCountStatement(await loadTargetEnv(em, op.accountId), op.kind, op.audience);
  let recipients = 0;
  if (statement) {
    const b = toOrmBindings(statement.sql, statement.params);
    const [row] = await em.execute<{ n: string }[]>(b.sql, b.bindings);
    recipients = Number(row?.n ?? 0);
  }
  try {
    await reserveCredits(ormExec(em), {
      accountId: op.accountId,
      operationId: op.id,
      kind: creditKindOf(op.kind),
      recipients,
      perRecipient: perRecipientOf(op),
    });
  } catch (err) {
    // The amounts tell the balance: invoice data, for INVOICES >= GUEST only (issue 16).
    if (showAmounts || !(err instanceof AppError) || err.extensions.reason !== 'INSUFFICIENT_CREDITS')
      throw err;
    throw conflict(
      `Not enough ${creditKindOf(op.kind)} credits for this send: someone with access to invoices can buy credits`,
      { reason: 'INSUFFICIENT_CREDITS', kind: creditKindOf(op.kind) },
    );
  }
}

/**
 * Credits follow the status: an operation leaving the holding statuses (sent, failed, cancelled,
 * back to draft by an edit) returns what it still holds, in the transaction of that change.
 * Called by writeOperation, the one place every status change goes through.
 */
export async function releaseUnlessHolding(em: EntityManager, op: OperationView): Promise<void> {
  if (!HOLDING.has(op.status)) await releaseCredits(ormExec(em), op.id);
}
