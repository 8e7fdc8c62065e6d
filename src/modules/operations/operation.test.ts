import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Actor,
  code,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
  viewerWith,
} from '../../../test/harness.js';
import { emailing, FROM, ops, smsOp, verifiedSender } from './testing/helpers.js';

/** Issue 12, "How it will be checked": the help pages' intern, end to end over HTTP. */
let t: TestApp;
let owner: Actor;
let intern: Actor;
let approver: Actor;
let o: ReturnType<typeof ops>;

beforeAll(async () => {
  t = await startTestApp();
  o = ops(t);
  owner = await signUpOwner(t);
  intern = await viewerWith(t, owner, { EMAILINGS: 'EDITOR' });
  approver = await viewerWith(t, owner, { EMAILINGS: 'APPROVER', SMS: 'APPROVER' });
  await verifiedSender(t, owner.accountId);
});
afterAll(() => t.close());

const future = () => new Date(Date.now() + 3_600_000).toISOString();

describe('the seed example', () => {
  it('an EDITOR creates and submits, cannot validate, schedule or cancel; an APPROVER validates and schedules; an edit returns it to DRAFT', async () => {
    const created = ok(await o.create(intern, emailing())).createOperation;
    expect(created).toMatchObject({
      status: 'DRAFT',
      version: 1,
      kind: 'EMAILING',
      createdBy: { id: intern.userId },
    });
    expect(created.email?.textPart).toContain('Spring is');
    const submitted = ok(await o.step(intern, 'submitOperation', created.id)).submitOperation;
    expect(submitted).toMatchObject({ status: 'PENDING_APPROVAL', submittedBy: { id: intern.userId } });

    expect(code(await o.step(intern, 'validateOperation', created.id))).toBe('FORBIDDEN');
    expect(code(await o.step(intern, 'scheduleOperation', created.id, ', now: true'))).toBe('FORBIDDEN');
    expect(code(await o.step(intern, 'cancelOperation', created.id))).toBe('FORBIDDEN');
    expect(ok(await o.get(intern, created.id)).operation.status).toBe('PENDING_APPROVAL');

    const validated = ok(await o.step(approver, 'validateOperation', created.id)).validateOperation;
    expect(validated).toMatchObject({
      status: 'VALIDATED',
      validatedVersion: 1,
      validatedBy: { id: approver.userId },
    });
    const at = future();
    const scheduled = ok(
      await o.step(approver, 'scheduleOperation', created.id, `, at: "${at}"`),
    ).scheduleOperation;
    expect(scheduled).toMatchObject({ status: 'SCHEDULED', scheduledAt: at });

    const edited = ok(
      await o.update(intern, { id: created.id, email: { subject: 'New subject' } }),
    ).updateOperation;
    expect(edited).toMatchObject({
      status: 'DRAFT',
      version: 2,
      validatedVersion: null,
      validatedBy: null,
      scheduledAt: null,
    });
    const row = await t.sql.query('select validated_hash, validated_version from operation where id = $1', [
      created.id,
    ]);
    expect(row.rows[0]).toEqual({ validated_hash: null, validated_version: null });
  });

  it('with four-eyes on, the submitter cannot validate their own operation even as an APPROVER; another approver can', async () => {
    ok(
      await t.gql(
        'mutation { updateAccountSettings(input: { fourEyes: true }) { fourEyes } }',
        {},
        owner.token,
      ),
    );
    const op = ok(await o.create(approver, emailing('Own work'))).createOperation;
    ok(await o.step(approver, 'submitOperation', op.id));
    const refused = await o.step(approver, 'validateOperation', op.id);
    expect(code(refused)).toBe('FORBIDDEN');
    expect(refused.errors?.[0].message).toMatch(/four-eyes.*created and last edited and submitted/i);
    // The one-call validate-and-schedule is for four-eyes off.
    expect(code(await o.step(owner, 'validateOperation', op.id, ', scheduleNow: true'))).toBe(
      'BAD_USER_INPUT',
    );
    expect(ok(await o.step(owner, 'validateOperation', op.id)).validateOperation.status).toBe('VALIDATED');
    ok(
      await t.gql(
        'mutation { updateAccountSettings(input: { fourEyes: false }) { fourEyes } }',
        {},
        owner.token,
      ),
    );
  });

  it('with four-eyes off, an approver validates and schedules in one call', async () => {
    const op = ok(await o.create(owner, smsOp())).createOperation;
    ok(await o.step(owner, 'submitOperation', op.id));
    const done = ok(await o.step(owner, 'validateOperation', op.id, ', scheduleNow: true')).validateOperation;
    expect(done.status).toBe('SCHEDULED');
    expect(new Date(done.scheduledAt as string).getTime()).toBeLessThanOrEqual(Date.now());
    const audit = await t.sql.query(`select action from audit_entry where object_id = $1 order by id`, [
      op.id,
    ]);
    expect(audit.rows.map((r) => r.action)).toEqual([
      'createOperation',
      'submitOperation',
      'validateOperation',
      'scheduleOperation',
    ]);
    expect(FROM).toBeTruthy();
  });
});
