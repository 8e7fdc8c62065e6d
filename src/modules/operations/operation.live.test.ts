import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Actor,
  nextResults,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
  viewerWith,
} from '../../../test/harness.js';
import { emailing, ops, smsOp, verifiedSender } from './testing/helpers.js';

/** Audience counts against hand-written SQL, workflow mails, and operationChanged. */
let t: TestApp;
let owner: Actor;
let editor: Actor;
let mailApprover: Actor;
let smsApprover: Actor;
let o: ReturnType<typeof ops>;

beforeAll(async () => {
  t = await startTestApp();
  o = ops(t);
  owner = await signUpOwner(t);
  editor = await viewerWith(t, owner, { EMAILINGS: 'EDITOR', SMS: 'EDITOR' });
  mailApprover = await viewerWith(t, owner, { EMAILINGS: 'APPROVER' });
  smsApprover = await viewerWith(t, owner, { SMS: 'APPROVER' });
  await verifiedSender(t, owner.accountId);
});
afterAll(() => t.close());

const segment = async (name: string, country: string) =>
  ok(
    await t.gql<{ createSegment: { id: string } }, { input: unknown }>(
      'mutation($input: CreateSegmentInput!) { createSegment(input: $input) { id } }',
      { input: { name, criterion: { field: { name: 'country', op: 'EQ', value: country } } } },
      owner.token,
    ),
  ).createSegment.id;

const count = async (id: string) =>
  ok(
    await t.gql<{ operation: { audienceCount: number } }, { id: string }>(
      'query($id: ID!) { operation(id: $id) { audienceCount } }',
      { id },
      owner.token,
    ),
  ).operation.audienceCount;

describe('audienceCount', () => {
  it('counts distinct reachable addresses of the segments less the excluded ones, as SQL does', async () => {
    const rows: [string | null, string | null, string, string][] = [
      ['a@x.fr', '+33600000001', 'VALID', 'FR'],
      ['A@X.FR', '+33600000001', 'VALID', 'FR'], // same address ignoring case, same phone
      ['b@x.fr', null, 'SOFT_BOUNCED', 'FR'],
      ['c@x.fr', '+33600000003', 'UNSUBSCRIBED', 'FR'],
      ['d@x.fr', null, 'HARD_BOUNCED', 'FR'],
      ['e@x.fr', null, 'COMPLAINED', 'FR'],
      [null, '+33600000006', 'VALID', 'FR'], // no email
      ['f@x.be', '+32400000007', 'VALID', 'BE'],
      ['g@x.de', '+49100000008', 'VALID', 'DE'],
    ];
    for (const [email, phone, status, country] of rows)
      await t.sql.query(
        'insert into contact (account_id, email, phone, email_status, country) values ($1, $2, $3, $4, $5)',
        [owner.accountId, email, phone, status, country],
      );
    const fr = await segment('FR', 'FR');
    const be = await segment('BE', 'BE');
    const mail = ok(await o.create(owner, { ...emailing(), audience: { segmentIds: [fr, be] } }))
      .createOperation.id;
    const sms = ok(
      await o.create(owner, { ...smsOp(), audience: { allContacts: true, excludedSegmentIds: [be] } }),
    ).createOperation.id;
    const sql = async (q: string) => Number((await t.sql.query(q, [owner.accountId])).rows[0].n);
    expect(await count(mail)).toBe(
      await sql(`select count(distinct lower(email)) as n from contact where account_id = $1 and country in ('FR', 'BE')
        and email is not null and email_status not in ('UNSUBSCRIBED', 'HARD_BOUNCED', 'COMPLAINED')`),
    );
    expect(await count(mail)).toBe(3); // a@x.fr, b@x.fr, f@x.be
    expect(await count(sms)).toBe(
      await sql(`select count(distinct phone) as n from contact where account_id = $1 and phone is not null
        and country is distinct from 'BE'`),
    );
    ok(await o.update(owner, { id: mail, audience: { segmentIds: [fr], excludedSegmentIds: [be] } }));
    expect(await count(mail)).toBe(2);
  });
});

const mailsTo = async (email: string) =>
  (
    await t.sql.query<{ subject: string; text: string }>(
      `select subject, text from outbox_message where "to" = $1 and subject like '%"Mailed"%' order by id`,
      [email],
    )
  ).rows;

describe('workflow mails', () => {
  it('tells the approvers of the kind of a submission, and the submitter of a rejection with its reason and of a validation', async () => {
    const id = ok(await o.create(editor, emailing('Mailed'))).createOperation.id;
    ok(await o.step(editor, 'submitOperation', id));
    expect((await mailsTo(mailApprover.email)).map((m) => m.subject)).toEqual([
      'Emailing "Mailed" awaits your validation',
    ]);
    expect((await mailsTo(owner.email)).length).toBe(1);
    expect(await mailsTo(smsApprover.email)).toEqual([]);
    expect(await mailsTo(editor.email)).toEqual([]);
    ok(await o.step(mailApprover, 'rejectOperation', id, ', reason: "Fix the subject"'));
    const [rejected] = await mailsTo(editor.email);
    expect(rejected.subject).toBe('Emailing "Mailed" was rejected');
    expect(rejected.text).toContain('Reason: Fix the subject');
    ok(await o.step(editor, 'submitOperation', id));
    ok(await o.step(mailApprover, 'validateOperation', id));
    expect((await mailsTo(editor.email)).map((m) => m.subject)[1]).toBe('Emailing "Mailed" was validated');
  });
});

describe('operationChanged', () => {
  it('streams changes of the kinds the viewer reads, and only those', async () => {
    const client = t.ws(mailApprover.token);
    const sub = nextResults<{
      operationChanged: { action: string; operationId: string; operation: { status: string } | null };
    }>(client, 'subscription { operationChanged { action operationId deleted operation { status } } }', 2);
    await new Promise((r) => setTimeout(r, 300));
    const smsId = ok(await o.create(owner, smsOp('unseen'))).createOperation.id;
    const mailId = ok(await o.create(owner, emailing('seen'))).createOperation.id;
    ok(await o.step(owner, 'submitOperation', mailId));
    const got = (await sub.results).map((r) => r.data?.operationChanged);
    sub.stop();
    expect(got.map((g) => [g?.action, g?.operationId])).toEqual([
      ['createOperation', mailId],
      ['submitOperation', mailId],
    ]);
    // `operation` is read when the message is resolved: as it is now, the submission done.
    expect(got[1]?.operation).toEqual({ status: 'PENDING_APPROVAL' });
    expect(got.some((g) => g?.operationId === smsId)).toBe(false);
  });
});
