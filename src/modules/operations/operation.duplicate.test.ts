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
import { emailing, OP_FIELDS, type Op, ops, smsOp, verifiedSender } from './testing/helpers.js';

let t: TestApp;
let owner: Actor;
let other: Actor;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t, 'Dup');
  other = await signUpOwner(t, 'Else');
  await verifiedSender(t, owner.accountId);
});
afterAll(() => t.close());

const duplicate = (who: Actor, id: string) =>
  t.gql<{ duplicateOperation: Op }, { id: string }>(
    `mutation($id: ID!) { duplicateOperation(id: $id) { ${OP_FIELDS} } }`,
    { id },
    who.token,
  );

describe('duplicateOperation', () => {
  it('copies name, audience and content into a new DRAFT, without the workflow of the original', async () => {
    const o = ops(t);
    const op = ok(await o.create(owner, emailing('Spring'))).createOperation;
    ok(await o.step(owner, 'submitOperation', op.id));
    ok(await o.step(owner, 'validateOperation', op.id));
    const copy = ok(await duplicate(owner, op.id)).duplicateOperation;
    expect(copy.id).not.toBe(op.id);
    expect(copy).toMatchObject({
      name: 'Spring (copy)',
      status: 'DRAFT',
      version: 1,
      validatedVersion: null,
      submittedBy: null,
      audience: op.audience,
      email: op.email,
    });
    // The original is untouched.
    expect(ok(await o.get(owner, op.id)).operation.status).toBe('VALIDATED');
    const sms = ok(await o.create(owner, smsOp())).createOperation;
    expect(ok(await duplicate(owner, sms.id)).duplicateOperation.sms).toEqual(sms.sms);
  });

  it("needs EDITOR in the operation's own kind; another account's id is NOT_FOUND", async () => {
    const op = ok(await ops(t).create(owner, emailing('Rights'))).createOperation;
    const guest = await viewerWith(t, owner, { EMAILINGS: 'GUEST', SMS: 'EDITOR' });
    const before = (await t.sql.query('select count(*)::int as n from operation')).rows[0].n;
    expect(code(await duplicate(guest, op.id))).toBe('FORBIDDEN');
    expect(code(await duplicate(other, op.id))).toBe('NOT_FOUND');
    expect((await t.sql.query('select count(*)::int as n from operation')).rows[0].n).toBe(before);
  });
});
