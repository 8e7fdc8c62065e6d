import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefineContactFieldDocument } from '../../../test/generated/graphql.js';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';

let t: TestApp;
let owner: Actor;
beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
});
afterAll(() => t.close());

describe('defineContactField', () => {
  it('cuts a long label at 200 without leaving half a surrogate pair', async () => {
    // The 200th code unit is the first half of the emoji: cutting there would store a lone one.
    const label = `${'a'.repeat(199)}😀 and more`;
    const field = ok(
      await t.gql(DefineContactFieldDocument, { input: { name: 'mood', label, type: 'TEXT' } }, owner.token),
    ).defineContactField;
    expect(field.label).toBe('a'.repeat(199));
    const { rows } = await t.sql.query(`select label from contact_field where name = 'mood'`);
    expect(rows[0].label).toBe('a'.repeat(199));
  });
});
