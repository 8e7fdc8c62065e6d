import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefineContactFieldDocument } from '../../../test/generated/graphql.js';
import { type Actor, code, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';

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

  it("refuses the names every plain object has, as it refuses a standard field's, and writes nothing", async () => {
    // Custom values live in plain objects: a field named "constructor" would always seem given
    // (an account keyed by it gave every contact the unique value "function Object() ...").
    for (const name of ['constructor', 'toString', 'valueOf', 'hasOwnProperty']) {
      const r = await t.gql(DefineContactFieldDocument, { input: { name, type: 'TEXT' } }, owner.token);
      expect(code(r), name).toBe('BAD_USER_INPUT');
    }
    const { rows } = await t.sql.query(
      `select 1 from contact_field where name in ('constructor', 'toString')`,
    );
    expect(rows).toHaveLength(0);
  });
});
