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
import { emailing, ops, smsOp, verifiedSender } from './testing/helpers.js';

/** Rights across the two kinds, four-eyes in detail, and other accounts' ids. */
let t: TestApp;
let owner: Actor;
let mailApprover: Actor; // EMAILINGS = APPROVER, SMS = NONE
let smsGuest: Actor; // SMS = GUEST only
let other: Actor; // owner of another account
let o: ReturnType<typeof ops>;
let smsId: string;
let mailId: string;

beforeAll(async () => {
  t = await startTestApp();
  o = ops(t);
  owner = await signUpOwner(t);
  other = await signUpOwner(t, 'Other');
  mailApprover = await viewerWith(t, owner, { EMAILINGS: 'APPROVER', SMS: 'NONE' });
  smsGuest = await viewerWith(t, owner, { SMS: 'GUEST' });
  await verifiedSender(t, owner.accountId);
  smsId = ok(await o.create(owner, smsOp())).createOperation.id;
  ok(await o.step(owner, 'submitOperation', smsId));
  mailId = ok(await o.create(owner, emailing())).createOperation.id;
});
afterAll(() => t.close());

const list = async (who: Actor, filter = '') =>
  ok(
    await t.gql<{ operations: { nodes: { id: string; kind: string }[] } }, Record<string, never>>(
      `{ operations${filter} { nodes { id kind } } }`,
      {},
      who.token,
    ),
  ).operations.nodes;

describe('an operation of one kind never answers to the rights of the other', () => {
  it('EMAILINGS = APPROVER, SMS = NONE: SMS operations are neither seen nor acted on', async () => {
    const r = await o.get(mailApprover, smsId);
    expect(code(r)).toBe('FORBIDDEN');
    expect(r.errors?.[0].message).toMatch(/SMS operation needs SMS >= GUEST/);
    expect(await list(mailApprover)).toEqual([{ id: mailId, kind: 'EMAILING' }]);
    expect(await list(mailApprover, '(filter: { kind: SMS })')).toEqual([]);
    for (const name of ['validateOperation', 'cancelOperation', 'submitOperation']) {
      const denied = await o.step(mailApprover, name, smsId);
      expect(code(denied), name).toBe('FORBIDDEN');
      expect(denied.errors?.[0].message).toMatch(/SMS operation needs SMS >= /);
    }
    expect(code(await o.update(mailApprover, { id: smsId, name: 'x' }))).toBe('FORBIDDEN');
    expect(code(await o.remove(mailApprover, [smsId]))).toBe('FORBIDDEN');
    expect(code(await o.create(mailApprover, smsOp('mine')))).toBe('FORBIDDEN');
    const { rows } = await t.sql.query('select status, version from operation where id = $1', [smsId]);
    expect(rows[0]).toEqual({ status: 'PENDING_APPROVAL', version: 1 });
  });

  it('SMS = GUEST reads SMS operations only, and may not write them', async () => {
    expect(ok(await o.get(smsGuest, smsId)).operation.id).toBe(smsId);
    expect(code(await o.get(smsGuest, mailId))).toBe('FORBIDDEN');
    expect((await list(smsGuest)).map((n) => n.kind)).toEqual(['SMS']);
    // The scope lets GUEST through nowhere a write needs EDITOR or APPROVER.
    expect(code(await o.step(smsGuest, 'submitOperation', smsId))).toBe('FORBIDDEN');
    expect(code(await o.create(smsGuest, smsOp('g')))).toBe('FORBIDDEN');
  });

  it('deleting a mix of kinds is all or nothing', async () => {
    const draft = ok(await o.create(owner, smsOp('draft sms'))).createOperation.id;
    const mailDraft = ok(await o.create(owner, emailing('draft mail'))).createOperation.id;
    expect(code(await o.remove(mailApprover, [mailDraft, draft]))).toBe('FORBIDDEN');
    expect(
      (await t.sql.query('select count(*)::int as n from operation where id in ($1, $2)', [draft, mailDraft]))
        .rows[0].n,
    ).toBe(2);
    expect(ok(await o.remove(owner, [mailDraft, draft])).deleteOperations.sort()).toEqual(
      [draft, mailDraft].sort(),
    );
  });
});

describe("another account's ids", () => {
  it('answer NOT_FOUND, and are skipped by deleteOperations', async () => {
    expect(code(await o.get(other, mailId))).toBe('NOT_FOUND');
    expect(code(await o.update(other, { id: mailId, name: 'stolen' }))).toBe('NOT_FOUND');
    for (const name of ['submitOperation', 'validateOperation', 'cancelOperation', 'pauseOperation'])
      expect(code(await o.step(other, name, mailId)), name).toBe('NOT_FOUND');
    expect(ok(await o.remove(other, [mailId])).deleteOperations).toEqual([]);
    expect(code(await o.get(owner, 'not-a-uuid'))).toBe('NOT_FOUND');
    expect((await list(other)).length).toBe(0);
  });

  it('a segment of another account in an audience is NOT_FOUND', async () => {
    const seg = ok(
      await t.gql<{ createSegment: { id: string } }, Record<string, never>>(
        'mutation { createSegment(input: { name: "theirs", criterion: { hasEmail: true } }) { id } }',
        {},
        other.token,
      ),
    ).createSegment.id;
    expect(code(await o.create(owner, { ...emailing(), audience: { segmentIds: [seg] } }))).toBe('NOT_FOUND');
    expect(code(await o.update(owner, { id: mailId, audience: { excludedSegmentIds: [seg] } }))).toBe(
      'NOT_FOUND',
    );
  });
});

describe('four-eyes', () => {
  const fourEyes = (who: Actor, on: boolean) =>
    t.gql(`mutation { updateAccountSettings(input: { fourEyes: ${on} }) { fourEyes } }`, {}, who.token);

  it('cannot be turned on by an account with a single active user', async () => {
    const alone = await signUpOwner(t, 'Alone');
    const r = await fourEyes(alone, true);
    expect(code(r)).toBe('CONFLICT');
    expect(r.errors?.[0].message).toMatch(/at least two active users/);
    expect(ok(await t.gql('{ accountSettings { fourEyes } }', {}, alone.token))).toEqual({
      accountSettings: { fourEyes: false },
    });
  });

  it('forbids the owner who created it, then the owner who last edited it; another approver validates', async () => {
    ok(await fourEyes(owner, true));
    try {
      const created = ok(await o.create(owner, emailing('by owner'))).createOperation.id;
      ok(await o.step(mailApprover, 'submitOperation', created));
      const r = await o.step(owner, 'validateOperation', created);
      expect(code(r)).toBe('FORBIDDEN');
      expect(r.errors?.[0].message).toMatch(/you created and last edited this operation.*owner too/);

      const edited = ok(await o.create(mailApprover, emailing('edited by owner'))).createOperation.id;
      ok(await o.update(owner, { id: edited, name: 'edited by the owner' }));
      ok(await o.step(mailApprover, 'submitOperation', edited));
      expect((await o.step(owner, 'validateOperation', edited)).errors?.[0].message).toMatch(
        /you last edited/,
      );
      // mailApprover created and submitted it: refused too.
      expect((await o.step(mailApprover, 'validateOperation', edited)).errors?.[0].message).toMatch(
        /you created and submitted/,
      );
      // It submitted `created`: refused; an approver who did none of it validates.
      expect(code(await o.step(mailApprover, 'validateOperation', created))).toBe('FORBIDDEN');
      const third = await viewerWith(t, owner, { EMAILINGS: 'APPROVER' });
      expect(ok(await o.step(third, 'validateOperation', created)).validateOperation.status).toBe(
        'VALIDATED',
      );
    } finally {
      ok(await fourEyes(owner, false));
    }
  });

  it('off, the creator validates their own operation', async () => {
    const id = ok(await o.create(owner, emailing('self'))).createOperation.id;
    ok(await o.step(owner, 'submitOperation', id));
    expect(ok(await o.step(owner, 'validateOperation', id)).validateOperation.validatedBy?.id).toBe(
      owner.userId,
    );
  });
});
