import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthedContext } from '../../context.js';
import { ormExec } from '../../db/exec.js';
import { approversOf } from '../users/approvers.js';
import type { OperationView } from './operation.repository.js';
import { featureOf } from './operation.rights.js';

/**
 * Workflow mails, written in the step's transaction (mailer.ts) and sent once it commits, so
 * nobody is told of a step that did not happen.
 */

const label = (op: OperationView) => `${op.kind === 'EMAILING' ? 'Emailing' : 'SMS'} "${op.name}"`;

/**
 * On submission: every active user who may validate this kind (APPROVER in its feature, and the
 * owner, APPROVER everywhere), except the submitter.
 */
export async function notifyApprovers(
  ctx: AuthedContext,
  em: EntityManager,
  op: OperationView,
): Promise<void> {
  const approvers = await approversOf(ormExec(em), op.accountId, featureOf(op.kind), ctx.viewer.userId);
  for (const a of approvers)
    await ctx.app.mailer.send(em, {
      accountId: op.accountId,
      to: a.email,
      subject: `${label(op)} awaits your validation`,
      text: [
        `Hello ${a.name},`,
        '',
        `${ctx.viewer.email} submitted the ${label(op)} for validation (version ${op.version}).`,
        `Validate it (validateOperation) or reject it with a reason (rejectOperation); operation id: ${op.id}.`,
        ctx.app.config.publicUrl,
      ].join('\n'),
    });
}

/** On validation or rejection: the submitter, unless they took the step themselves. */
export async function notifySubmitter(
  ctx: AuthedContext,
  em: EntityManager,
  op: OperationView,
  outcome: 'validated' | 'rejected',
): Promise<void> {
  if (!op.submittedBy || op.submittedBy === ctx.viewer.userId) return;
  const [submitter] = await em.execute<{ email: string; name: string }[]>(
    `select email, name from app_user where account_id = ? and id = ? and status = 'ACTIVE'`,
    [op.accountId, op.submittedBy],
  );
  if (!submitter) return;
  const lines = [`Hello ${submitter.name},`, '', `${ctx.viewer.email} ${outcome} your ${label(op)}.`];
  if (outcome === 'rejected')
    lines.push('', `Reason: ${op.rejectionReason ?? ''}`, '', 'Edit it and submit it again.');
  lines.push(`Operation id: ${op.id}.`);
  await ctx.app.mailer.send(em, {
    accountId: op.accountId,
    to: submitter.email,
    subject: `${label(op)} was ${outcome}`,
    text: lines.join('\n'),
  });
}
