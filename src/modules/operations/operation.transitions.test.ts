import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, code, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { markFailed, markSending, markSent } from './operation.engine.js';
import { OPERATION_STATUSES, type OperationStatus } from './operation.entity.js';
import { type OperationAction, transitionOf } from './operation.workflow.js';
import { emailing, ops, verifiedSender } from './testing/helpers.js';

let t: TestApp;
let owner: Actor;
let o: ReturnType<typeof ops>;

beforeAll(async () => {
  t = await startTestApp();
  o = ops(t);
  owner = await signUpOwner(t);
  await verifiedSender(t, owner.accountId);
});
afterAll(() => t.close());

/** Runs an engine step in its own transaction, as the sending engine will. */
const engine = <T>(fn: (em: never) => Promise<T>) =>
  t.app.services.orm.em.fork().transactional((em) => fn(em as never));

const statusOf = async (id: string) =>
  (await t.sql.query<{ status: string }>('select status from operation where id = $1', [id])).rows[0]
    ?.status ?? 'DELETED';

/** An operation brought to `status` through the API (and the engine seam past SCHEDULED). */
async function reach(status: OperationStatus): Promise<string> {
  const id = ok(await o.create(owner, emailing(`to ${status}`))).createOperation.id;
  const step = async (name: string, extra = '') => ok(await o.step(owner, name, id, extra));
  if (status === 'DRAFT') return id;
  await step('submitOperation');
  if (status === 'PENDING_APPROVAL') return id;
  if (status === 'REJECTED') return (await step('rejectOperation', ', reason: "no"')) && id;
  await step('validateOperation');
  if (status === 'VALIDATED') return id;
  if (status === 'CANCELLED') return (await step('cancelOperation')) && id;
  await step('scheduleOperation', ', now: true');
  if (status === 'SCHEDULED') return id;
  if (status === 'FAILED') return (await engine((em) => markFailed(em, owner.accountId, id, 'late'))) && id;
  expect((await engine((em) => markSending(em, owner.accountId, id))).ok).toBe(true);
  if (status === 'SENDING') return id;
  if (status === 'PAUSED') return (await step('pauseOperation')) && id;
  await engine((em) => markSent(em, owner.accountId, id));
  return id;
}

const CALLS: Record<string, (id: string) => Promise<{ errors?: { extensions?: { code?: string } }[] }>> = {
  submit: (id) => o.step(owner, 'submitOperation', id),
  validate: (id) => o.step(owner, 'validateOperation', id),
  reject: (id) => o.step(owner, 'rejectOperation', id, ', reason: "Too long"'),
  schedule: (id) => o.step(owner, 'scheduleOperation', id, ', now: true'),
  pause: (id) => o.step(owner, 'pauseOperation', id),
  resume: (id) => o.step(owner, 'resumeOperation', id),
  cancel: (id) => o.step(owner, 'cancelOperation', id),
  edit: (id) => o.update(owner, { id, email: { subject: 'Changed' } }),
  delete: (id) => o.remove(owner, [id]) as never,
};

describe('every user action from every status follows the workflow table', () => {
  for (const from of OPERATION_STATUSES)
    it(`from ${from}`, async () => {
      const wrong: string[] = [];
      for (const [action, call] of Object.entries(CALLS)) {
        const id = await reach(from);
        expect(await statusOf(id)).toBe(from);
        const row = transitionOf(from, action as OperationAction);
        const r = await call(id);
        const now = await statusOf(id);
        if (row) {
          const want = row.to === 'PAUSED_FROM' ? 'SENDING' : row.to;
          if (r.errors?.length || now !== want)
            wrong.push(`${action}: ${JSON.stringify(r.errors)} -> ${now}, want ${want}`);
        } else if (code(r as never) !== 'CONFLICT' || now !== from)
          // deleteOperations answers CONFLICT too, for a state that is not deletable.
          wrong.push(`${action}: expected CONFLICT, got ${code(r as never)} -> ${now}`);
      }
      expect(wrong).toEqual([]);
    });
});

describe('details of the steps', () => {
  it('a rejection carries its reason; a resubmission clears it', async () => {
    const id = await reach('REJECTED');
    const op = ok(await o.get(owner, id)).operation;
    expect(op).toMatchObject({ status: 'REJECTED', rejectionReason: 'no', rejectedBy: { id: owner.userId } });
    expect(code(await o.step(owner, 'rejectOperation', id, ', reason: "again"'))).toBe('CONFLICT');
    const again = ok(await o.step(owner, 'submitOperation', id)).submitOperation;
    expect(again).toMatchObject({ status: 'PENDING_APPROVAL', rejectionReason: null, rejectedBy: null });
    expect(code(await o.step(owner, 'rejectOperation', id, ', reason: "  "'))).toBe('BAD_USER_INPUT');
  });

  it('resume goes back to SCHEDULED when paused from there', async () => {
    const id = await reach('SCHEDULED');
    ok(await o.step(owner, 'pauseOperation', id));
    expect(ok(await o.step(owner, 'resumeOperation', id)).resumeOperation.status).toBe('SCHEDULED');
  });

  it('a time in the past is refused; at and now together too; a later time moves the schedule', async () => {
    const id = await reach('VALIDATED');
    const past = new Date(Date.now() - 60_000).toISOString();
    expect(code(await o.step(owner, 'scheduleOperation', id, `, at: "${past}"`))).toBe('BAD_USER_INPUT');
    expect(code(await o.step(owner, 'scheduleOperation', id, `, at: "${past}", now: true`))).toBe(
      'BAD_USER_INPUT',
    );
    expect(code(await o.step(owner, 'scheduleOperation', id))).toBe('BAD_USER_INPUT');
    const far = new Date(Date.now() + 400 * 86_400_000).toISOString();
    expect(code(await o.step(owner, 'scheduleOperation', id, `, at: "${far}"`))).toBe('BAD_USER_INPUT');
    expect(code(await o.step(owner, 'validateOperation', id, `, scheduleAt: "${past}"`))).toBe(
      'BAD_USER_INPUT',
    );
    expect(await statusOf(id)).toBe('VALIDATED');
    const later = new Date(Date.now() + 7_200_000).toISOString();
    ok(await o.step(owner, 'scheduleOperation', id, ', now: true'));
    expect(
      ok(await o.step(owner, 'scheduleOperation', id, `, at: "${later}"`)).scheduleOperation.scheduledAt,
    ).toBe(later);
  });

  it('an edit that changes nothing is no edit: the validation stands', async () => {
    const id = await reach('VALIDATED');
    const same = ok(await o.update(owner, { id, name: 'to VALIDATED' })).updateOperation;
    expect(same).toMatchObject({ status: 'VALIDATED', version: 1, validatedVersion: 1 });
    const changed = ok(await o.update(owner, { id, name: 'renamed' })).updateOperation;
    expect(changed).toMatchObject({ status: 'DRAFT', version: 2, validatedVersion: null });
  });

  it('each step writes an audit entry with the diff of what changed', async () => {
    const id = await reach('SCHEDULED');
    const { rows } = await t.sql.query<{
      action: string;
      feature: string;
      diff: Record<string, { to: unknown }>;
    }>('select action, feature, diff from audit_entry where object_id = $1 order by id', [id]);
    expect(rows.map((r) => r.action)).toEqual([
      'createOperation',
      'submitOperation',
      'validateOperation',
      'scheduleOperation',
    ]);
    expect(rows.every((r) => r.feature === 'EMAILINGS')).toBe(true);
    expect(rows[1].diff.status).toEqual({ from: 'DRAFT', to: 'PENDING_APPROVAL' });
    expect(rows[2].diff.validatedVersion).toEqual({ from: null, to: 1 });
    expect(rows[3].diff.scheduledAt.to).toBeTruthy();
  });
});

describe('the engine check: what is sent is exactly what was validated', () => {
  it('starts a scheduled operation whose content is the validated one', async () => {
    const id = await reach('SCHEDULED');
    const step = await engine((em) => markSending(em, owner.accountId, id));
    expect(step).toMatchObject({ ok: true, operation: { status: 'SENDING' } });
    expect(step.entries.map((e) => e.action)).toEqual(['startOperation']);
  });

  it('refuses, with FAILED and the reason, content changed behind the API', async () => {
    const id = await reach('SCHEDULED');
    await t.sql.query(
      `update operation set content = jsonb_set(content, '{html}', '"<p>other</p>"') where id = $1`,
      [id],
    );
    const step = await engine((em) => markSending(em, owner.accountId, id));
    expect(step).toMatchObject({ ok: false, reason: expect.stringMatching(/hash mismatch/) });
    expect(await statusOf(id)).toBe('FAILED');
    const op = (await t.sql.query('select failure_reason from operation where id = $1', [id])).rows[0];
    expect(op.failure_reason).toMatch(/hash mismatch/);
  });

  it('refuses a version that is not the validated one', async () => {
    const id = await reach('SCHEDULED');
    await t.sql.query('update operation set version = version + 1 where id = $1', [id]);
    const step = await engine((em) => markSending(em, owner.accountId, id));
    expect(step).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/version 2 is not the validated version 1/),
    });
  });

  it('does not start what is not scheduled', async () => {
    const id = await reach('VALIDATED');
    const step = await engine((em) => markSending(em, owner.accountId, id));
    expect(step.ok).toBe(false);
    expect(await statusOf(id)).toBe('VALIDATED');
  });
});
