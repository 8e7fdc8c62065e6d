import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthedContext } from '../../context.js';
import { badInput, conflict, forbidden } from '../../shared/errors.js';
import { type AccessLevel, atLeast } from '../access/access.js';
import { type AccountSettings, DEFAULT_SETTINGS } from '../account/account.entity.js';
import { mutate } from '../audit/audit.service.js';
import { refuseMissingSegments } from './operation.audience.js';
import { checkComplete } from './operation.content.js';
import { reserveForSchedule } from './operation.credits.js';
import { notifyApprovers, notifySubmitter } from './operation.notify.js';
import { findOperation, type OperationView, writeOperation } from './operation.repository.js';
import { featureOf, requireKind } from './operation.rights.js';
import { changes } from './operation.service.js';
import { type OperationAction, statusesFor, targetOf, transitionOf, WORKFLOW } from './operation.workflow.js';

export const MAX_REASON = 2000;
/** How far ahead an operation may be scheduled. */
export const MAX_SCHEDULE_DAYS = 366;

/** The level an action needs (the same in every row of the table for a user action). */
export function levelOf(action: OperationAction): AccessLevel {
  const level = WORKFLOW.find((r) => r.action === action)?.level;
  if (!level || level === 'ENGINE') throw new Error(`${action} is not a user action`);
  return level;
}

type Apply = (op: OperationView, em: EntityManager) => Promise<void> | void;

interface Stage {
  action: OperationAction;
  apply: Apply;
  /** Mails, written in the transaction too (sent once it commits: mailer.ts). */
  after?: (op: OperationView, em: EntityManager) => Promise<void>;
}

/**
 * Steps of the workflow in one transaction (validate and schedule are two stages of one call):
 * the operation loaded FOR UPDATE in the account (NOT_FOUND otherwise); for each stage the level
 * of its action in the operation's own kind (FORBIDDEN), the table's row for the status
 * (CONFLICT), then `apply`, the new status, an audit entry with the diff, and the mails.
 */
async function step(ctx: AuthedContext, id: string, ...stages: Stage[]): Promise<OperationView> {
  const { accountId } = ctx.viewer;
  return mutate(ctx, async ({ em, audit }) => {
    const op = await findOperation(em, accountId, id, true);
    for (const { action, apply, after } of stages) {
      requireKind(ctx.viewer, op.kind, levelOf(action), `${action[0].toUpperCase()}${action.slice(1)}`);
      const row = transitionOf(op.status, action);
      if (!row)
        throw conflict(
          `An operation ${op.status} cannot be ${pastTense(action)}: ${action} needs ${[...new Set(statusesFor(action))].join(', ')}`,
          { status: op.status, action },
        );
      const before = { ...op };
      const to = targetOf(row, op.pausedFrom);
      await apply(op, em);
      if (to !== 'DELETED') op.status = to;
      op.updatedAt = new Date();
      await writeOperation(em, op);
      audit({
        action: `${action}Operation`,
        feature: featureOf(op.kind),
        objectType: 'Operation',
        objectId: op.id,
        diff: changes(before, op),
      });
      await after?.(op, em);
    }
    return findOperation(em, accountId, op.id);
  });
}

const PAST: Partial<Record<OperationAction, string>> = {
  submit: 'submitted',
  validate: 'validated',
  reject: 'rejected',
  schedule: 'scheduled',
  pause: 'paused',
  resume: 'resumed',
  cancel: 'cancelled',
};
const pastTense = (a: OperationAction) => PAST[a] ?? a;

export function submitOperation(ctx: AuthedContext, id: string): Promise<OperationView> {
  const { userId, accountId } = ctx.viewer;
  return step(ctx, id, {
    action: 'submit',
    apply: async (op, em) => {
      await refuseMissingSegments(em, accountId, op.audience);
      await checkComplete(em, accountId, op.kind, op.content, op.audience);
      Object.assign(op, {
        submittedBy: userId,
        submittedAt: new Date(),
        rejectedBy: null,
        rejectedAt: null,
        rejectionReason: null,
      });
    },
    after: (op, em) => notifyApprovers(ctx, em, op),
  });
}

async function fourEyesOn(em: EntityManager, accountId: string): Promise<boolean> {
  const [row] = await em.execute<{ settings: Partial<AccountSettings> }[]>(
    'select settings from account where id = ?',
    [accountId],
  );
  return row?.settings?.fourEyes ?? DEFAULT_SETTINGS.fourEyes;
}

/** Four-eyes: FORBIDDEN, saying why, for whoever created, last edited or submitted it. */
function refuseOwnWork(op: OperationView, userId: string): void {
  const roles = [
    op.createdBy === userId && 'created',
    op.updatedBy === userId && 'last edited',
    op.submittedBy === userId && 'submitted',
  ].filter(Boolean);
  if (roles.length)
    throw forbidden(
      `Four-eyes validation is on: you ${roles.join(' and ')} this operation, so another approver must validate it (this holds for the account owner too)`,
    );
}

/** When a schedule asks for it: `now`, or a time not in the past and at most MAX_SCHEDULE_DAYS ahead. */
export function scheduleTime(at: Date | null | undefined, now: boolean | null | undefined): Date {
  if ((at == null) === !now)
    throw badInput('schedule: give either a time (at) or now: true', { field: 'at' });
  const current = new Date();
  if (now) return current;
  const when = at as Date;
  if (Number.isNaN(when.getTime())) throw badInput('at: not a date', { field: 'at' });
  if (when.getTime() < current.getTime())
    throw badInput(`at: ${when.toISOString()} is in the past; give a later time or now: true`, {
      field: 'at',
    });
  if (when.getTime() > current.getTime() + MAX_SCHEDULE_DAYS * 86_400_000)
    throw badInput(`at: at most ${MAX_SCHEDULE_DAYS} days ahead`, { field: 'at' });
  return when;
}

function refuseStaleValidation(op: OperationView): void {
  if (op.validatedVersion !== op.version || op.validatedHash !== op.contentHash)
    throw conflict('The operation changed since it was validated: it needs a new validation', {
      reason: 'NOT_VALIDATED',
    });
}

/**
 * Validates the operation as it is now (its version and hash recorded); with `schedule`, also
 * schedules it in the same transaction (one call: only with four-eyes off).
 */
export function validateOperation(
  ctx: AuthedContext,
  id: string,
  schedule?: { at?: Date | null; now?: boolean | null } | null,
): Promise<OperationView> {
  const { userId, accountId } = ctx.viewer;
  const when =
    schedule && (schedule.at != null || schedule.now) ? scheduleTime(schedule.at, schedule.now) : null;
  const validate: Stage = {
    action: 'validate',
    apply: async (op, em) => {
      const fourEyes = await fourEyesOn(em, accountId);
      if (fourEyes) refuseOwnWork(op, userId);
      if (fourEyes && when)
        throw badInput(
          'Four-eyes validation is on: validate, then schedule in a second call (scheduleOperation)',
          {
            field: 'scheduleAt',
          },
        );
      await refuseMissingSegments(em, accountId, op.audience);
      await checkComplete(em, accountId, op.kind, op.content, op.audience);
      Object.assign(op, {
        validatedBy: userId,
        validatedAt: new Date(),
        validatedVersion: op.version,
        validatedHash: op.contentHash,
      });
    },
    after: (op, em) => notifySubmitter(ctx, em, op, 'validated'),
  };
  return when ? step(ctx, id, validate, scheduleStage(ctx, when)) : step(ctx, id, validate);
}

export function rejectOperation(ctx: AuthedContext, id: string, reason: string): Promise<OperationView> {
  const text = reason.trim();
  if (!text) throw badInput('reason must not be empty: say what to change', { field: 'reason' });
  if (text.length > MAX_REASON)
    throw badInput(`reason: at most ${MAX_REASON} characters`, { field: 'reason' });
  return step(ctx, id, {
    action: 'reject',
    apply: (op) => {
      Object.assign(op, { rejectedBy: ctx.viewer.userId, rejectedAt: new Date(), rejectionReason: text });
    },
    after: (op, em) => notifySubmitter(ctx, em, op, 'rejected'),
  });
}

const scheduleStage = (ctx: AuthedContext, at: Date): Stage => ({
  action: 'schedule',
  apply: async (op, em) => {
    refuseStaleValidation(op);
    Object.assign(op, { scheduledAt: at, failureReason: null });
    await reserveForSchedule(em, op, atLeast(ctx.viewer.rights.INVOICES, 'GUEST'));
  },
});

export function scheduleOperation(
  ctx: AuthedContext,
  id: string,
  when: { at?: Date | null; now?: boolean | null },
): Promise<OperationView> {
  return step(ctx, id, scheduleStage(ctx, scheduleTime(when.at, when.now)));
}

export function pauseOperation(ctx: AuthedContext, id: string): Promise<OperationView> {
  return step(ctx, id, {
    action: 'pause',
    apply: (op) => {
      op.pausedFrom = op.status;
    },
  });
}

export function resumeOperation(ctx: AuthedContext, id: string): Promise<OperationView> {
  return step(ctx, id, {
    action: 'resume',
    apply: (op) => {
      op.pausedFrom = null;
    },
  });
}

export function cancelOperation(ctx: AuthedContext, id: string): Promise<OperationView> {
  return step(ctx, id, {
    action: 'cancel',
    apply: (op) => {
      Object.assign(op, { cancelledBy: ctx.viewer.userId, cancelledAt: new Date(), pausedFrom: null });
    },
  });
}
