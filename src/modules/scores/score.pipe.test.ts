/**
 * The first run pipelined over two sessions (score.pipe.ts): parameters carried as settings,
 * values that would break naive quoting, and a failure on the computing side.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateScoreDocument } from '../../../test/generated/graphql.js';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { paramsAsSettings, pipeRows } from './score.pipe.js';
import { contact, runAndWait, storedScores } from './testing/helpers.js';

let t: TestApp;
let owner: Actor;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
});
afterAll(() => t.close());

const HOSTILE = [`O'Brien "the" \\ city`, 'a,b{c}', 'NULL', "'); drop table contact; --"];

describe('parameters as settings', () => {
  it('rewrites every $n, typed, and never puts a value in the SQL text', () => {
    const { sql, settings } = paramsAsSettings(
      'select $1, $2::uuid, $6::numeric, $7::text[], $8::int where x = $1',
      ['acc', 'score', null, null, null, '1.5', HOSTILE, null],
    );
    expect(sql).toBe(
      `select ((select current_setting('cible.p1')::uuid)::uuid), ((select current_setting('cible.p2')::uuid)::uuid), ` +
        `((select current_setting('cible.p6')::numeric)::numeric), ((select current_setting('cible.p7')::text[])::text[]), ` +
        `null::int where x = ((select current_setting('cible.p1')::uuid)::uuid)`,
    );
    for (const v of HOSTILE) expect(sql).not.toContain(v);
    expect(settings.map((s) => s[0])).toEqual(['cible.p1', 'cible.p2', 'cible.p6', 'cible.p7']);
  });

  it('round-trips arrays of awkward strings through PostgreSQL', async () => {
    const { sql, settings } = paramsAsSettings('select $1::text[] as v', [HOSTILE]);
    const c = await t.sql.connect();
    try {
      await c.query('begin');
      await c.query('select set_config($1, $2, true)', settings[0]);
      expect((await c.query(sql)).rows[0].v).toEqual(HOSTILE);
      await c.query('rollback');
    } finally {
      c.release();
    }
  });
});

describe('pipeRows', () => {
  it('fails as a whole when the computing side fails half-way, and the writer rolls back', async () => {
    const a = await contact(t, owner, { email: 'pipe-a@x.test' });
    await contact(t, owner, { email: 'pipe-b@x.test' });
    const writer = await t.sql.connect();
    try {
      await writer.query('begin');
      // 1 / 0 for the second contact only: some rows are already streamed when it fails.
      const select = `select $2::uuid, c.id, $1::uuid, 0::numeric, 0::numeric,
                             (1 / case when c.id = $6::bigint then 1 else 0 end)::numeric
                        from contact c where c.account_id = $1 order by c.id`;
      await expect(
        pipeRows(t.sql, writer, select, [
          owner.accountId,
          '00000000-0000-4000-8000-000000000001',
          0,
          0,
          0,
          a,
        ]),
      ).rejects.toThrow(/division by zero/);
      // The failure reached the writer's own transaction, not only the reading session.
      await expect(writer.query('select 1')).rejects.toThrow(/current transaction is aborted/);
      await writer.query('rollback');
    } finally {
      writer.release();
    }
    const { rows } = await t.sql.query('select count(*)::int as n from contact_score where account_id = $1', [
      owner.accountId,
    ]);
    expect(rows[0].n).toBe(0);
  });
});

describe('a first run through the pipe', () => {
  it('matches contacts on awkward values exactly', async () => {
    const hit = await contact(t, owner, { email: 'pipe-hit@x.test', city: HOSTILE[0] });
    const comma = await contact(t, owner, { email: 'pipe-comma@x.test', city: HOSTILE[1] });
    await contact(t, owner, { email: 'pipe-miss@x.test', city: 'Brien' });
    const score = ok(
      await t.gql(
        CreateScoreDocument,
        {
          input: {
            name: 'Awkward',
            conditions: [
              {
                criterion: { field: { name: 'city', op: 'IN', values: HOSTILE } },
                mode: 'FIXED',
                value: '2.5',
              },
              {
                criterion: { field: { name: 'city', op: 'EQ', value: HOSTILE[0] } },
                mode: 'FIXED',
                value: '-0.25',
              },
            ],
          },
        },
        owner.token,
      ),
    ).createScore.id;
    expect((await runAndWait(t, owner)).contactsChanged).toBe(2);
    expect(await storedScores(t, [score])).toEqual({
      [`${score}/${hit}`]: '2.25',
      [`${score}/${comma}`]: '2.5',
    });
  });
});
