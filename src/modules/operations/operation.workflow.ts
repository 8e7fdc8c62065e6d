import type { AccessLevel } from '../access/access.js';
import type { OperationStatus } from './operation.entity.js';

/**
 * The workflow of an operation as data: every allowed (from, action) pair, the level it needs in
 * the operation's own feature (EMAILINGS for an Emailing, SMS for an SMS) and where it goes. A
 * pair not in the table is refused with CONFLICT (the operation is not in a state for it).
 *
 * Decisions:
 * - `edit` (updateOperation) is allowed until the operation is scheduled; past DRAFT it goes back
 *   to DRAFT and voids the submission and the validation (what is sent is what was validated).
 * - `delete` is allowed in DRAFT and REJECTED only: a rejected operation is a draft with a
 *   reason, never validated; anything validated or further is cancelled, not deleted, so its
 *   history stays.
 * - `schedule` again in SCHEDULED moves the time; from FAILED it is the "new schedule" a late
 *   operation needs (issue 13), still of the validated version.
 * - `validate` with a time (validateOperation(id, scheduleAt)) is validate then schedule in one
 *   transaction, when settings.fourEyes is off (operation.transitions.ts).
 * - The ENGINE rows are taken by the sending engine (operation.engine.ts), never by a user.
 */
export type OperationAction =
  | 'submit'
  | 'validate'
  | 'reject'
  | 'schedule'
  | 'pause'
  | 'resume'
  | 'cancel'
  | 'edit'
  | 'delete'
  | 'start'
  | 'finish'
  | 'fail';

/** ENGINE: the sending engine, no user level lets anyone take that step through the API. */
export type WorkflowLevel = AccessLevel | 'ENGINE';

/** Where a transition leads: a status, back to the status paused from, or the row deleted. */
export type WorkflowTarget = OperationStatus | 'PAUSED_FROM' | 'DELETED';

export interface WorkflowRow {
  from: OperationStatus;
  action: OperationAction;
  level: WorkflowLevel;
  to: WorkflowTarget;
}

const row = (
  from: OperationStatus[],
  action: OperationAction,
  level: WorkflowLevel,
  to: WorkflowTarget,
): WorkflowRow[] => from.map((f) => ({ from: f, action, level, to }));

export const WORKFLOW: readonly WorkflowRow[] = Object.freeze([
  ...row(['DRAFT'], 'edit', 'EDITOR', 'DRAFT'),
  ...row(['PENDING_APPROVAL', 'VALIDATED', 'SCHEDULED', 'REJECTED'], 'edit', 'EDITOR', 'DRAFT'),
  ...row(['DRAFT', 'REJECTED'], 'delete', 'EDITOR', 'DELETED'),
  ...row(['DRAFT', 'REJECTED'], 'submit', 'EDITOR', 'PENDING_APPROVAL'),
  ...row(['PENDING_APPROVAL'], 'validate', 'APPROVER', 'VALIDATED'),
  ...row(['PENDING_APPROVAL'], 'reject', 'APPROVER', 'REJECTED'),
  ...row(['VALIDATED', 'SCHEDULED', 'FAILED'], 'schedule', 'APPROVER', 'SCHEDULED'),
  ...row(['SCHEDULED', 'SENDING'], 'pause', 'APPROVER', 'PAUSED'),
  ...row(['PAUSED'], 'resume', 'APPROVER', 'PAUSED_FROM'),
  ...row(['VALIDATED', 'SCHEDULED', 'SENDING', 'PAUSED', 'FAILED'], 'cancel', 'APPROVER', 'CANCELLED'),
  ...row(['SCHEDULED'], 'start', 'ENGINE', 'SENDING'),
  ...row(['SENDING'], 'finish', 'ENGINE', 'SENT'),
  ...row(['SCHEDULED', 'SENDING'], 'fail', 'ENGINE', 'FAILED'),
]);

/** The row for this step, or null when the workflow has none (the caller answers CONFLICT). */
export function transitionOf(from: OperationStatus, action: OperationAction): WorkflowRow | null {
  return WORKFLOW.find((r) => r.from === from && r.action === action) ?? null;
}

/** Every status the action may start from, for messages ("submit needs DRAFT or REJECTED"). */
export function statusesFor(action: OperationAction): OperationStatus[] {
  return WORKFLOW.filter((r) => r.action === action).map((r) => r.from);
}

/** The resolved target: PAUSED_FROM is the status saved when pausing. */
export function targetOf(r: WorkflowRow, pausedFrom: OperationStatus | null): OperationStatus | 'DELETED' {
  if (r.to !== 'PAUSED_FROM') return r.to;
  if (!pausedFrom) throw new Error('a paused operation without pausedFrom');
  return pausedFrom;
}

/** The table in Markdown, for the module README and the closing note of issue 12. */
export function workflowMarkdown(): string {
  const lines = ['| from | action | level | to |', '| --- | --- | --- | --- |'];
  for (const r of WORKFLOW) {
    const to = r.to === 'PAUSED_FROM' ? 'the status it was paused from (SCHEDULED or SENDING)' : r.to;
    lines.push(`| ${r.from} | ${r.action} | ${r.level} | ${to} |`);
  }
  return `${lines.join('\n')}\n`;
}
