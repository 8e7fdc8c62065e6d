/**
 * Segments an operation's audience names (included or excluded) cannot be deleted while the
 * operation may still be sent: deleteSegments answers CONFLICT naming it, and deletes nothing.
 * Once the operation is gone (or sent, or cancelled), the segment can go.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateSegmentDocument, DeleteSegmentsDocument } from '../../../test/generated/graphql.js';
import { type Actor, code, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { emailing, ops, verifiedSender } from './testing/helpers.js';

let t: TestApp;
let owner: Actor;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
  await verifiedSender(t, owner.accountId);
});
afterAll(() => t.close());

const segment = async (name: string) =>
  ok(
    await t.gql(
      CreateSegmentDocument,
      { input: { name, criterion: { field: { name: 'country', op: 'EQ', value: 'FR' } } } } as never,
      owner.token,
    ),
  ).createSegment.id;

describe('segments used by operations', () => {
  it('are refused by deleteSegments (CONFLICT naming the operation) until the operation is gone', async () => {
    const o = ops(t);
    const included = await segment('Included');
    const excluded = await segment('Excluded');
    const op = ok(
      await o.create(owner, {
        ...emailing('Uses segments'),
        audience: { segmentIds: [included], excludedSegmentIds: [excluded] },
      }),
    ).createOperation;
    for (const id of [included, excluded]) {
      const r = await t.gql(DeleteSegmentsDocument, { ids: [id] }, owner.token);
      expect(code(r)).toBe('CONFLICT');
      expect(r.errors?.[0].message).toContain(`operation ${op.id}`);
    }
    const left = await t.sql.query('select count(*)::int as n from segment where id = any($1)', [
      [included, excluded],
    ]);
    expect(left.rows[0].n).toBe(2);
    ok(await o.remove(owner, [op.id]));
    expect(
      ok(await t.gql(DeleteSegmentsDocument, { ids: [included, excluded] }, owner.token)).deleteSegments,
    ).toHaveLength(2);
  });

  it('cancelled operations no longer hold their segments', async () => {
    const o = ops(t);
    const s = await segment('For a cancelled one');
    const op = ok(
      await o.create(owner, { ...emailing('Cancelled'), audience: { segmentIds: [s] } }),
    ).createOperation;
    await t.sql.query(`update operation set status = 'CANCELLED' where id = $1`, [op.id]);
    expect(ok(await t.gql(DeleteSegmentsDocument, { ids: [s] }, owner.token)).deleteSegments).toEqual([s]);
  });
});
