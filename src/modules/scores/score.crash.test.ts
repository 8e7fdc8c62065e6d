import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateScoreDocument, DefineContactFieldDocument } from '../../../test/generated/graphql.js';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { contact, events, runAndWait, storedScores } from './testing/helpers.js';

let t: TestApp;
let owner: Actor;
const ids: string[] = [];
const c: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
  ok(await t.gql(DefineContactFieldDocument, { input: { name: 'revenue', type: 'NUMBER' } }, owner.token));
  c.a = await contact(t, owner, {
    email: 'a@x.test',
    city: 'Paris',
    fields: [{ name: 'revenue', value: '12.5' }],
  });
  c.b = await contact(t, owner, { email: 'b@x.test', city: 'Nice' });
  for (const [name, conditions] of [
    [
      'Opens',
      [
        {
          criterion: { event: { type: 'EMAIL_OPEN' as const } },
          mode: 'FIXED_PER_EVENT' as const,
          value: '0.5',
        },
      ],
    ],
    [
      'Mixed',
      [
        {
          criterion: { field: { name: 'city', op: 'EQ' as const, value: 'Paris' } },
          mode: 'FIXED' as const,
          value: '-3',
        },
        {
          criterion: { field: { name: 'revenue', op: 'GT' as const, value: '0' } },
          mode: 'FIELD_VALUE' as const,
          coefficient: '2',
        },
        {
          criterion: { event: { type: 'EMAIL_CLICK' as const } },
          mode: 'FIXED_PER_EVENT' as const,
          value: '7',
        },
      ],
    ],
  ] as const) {
    ids.push(
      ok(await t.gql(CreateScoreDocument, { input: { name, conditions: [...conditions] } }, owner.token))
        .createScore.id,
    );
  }
});
afterAll(() => t.close());

const child = fileURLToPath(new URL('./testing/run-child.ts', import.meta.url));

/** Starts a computation in another process, waits until it paused after its first score, kills it. */
async function killHalfWay(databaseUrl: string): Promise<void> {
  const p = spawn(process.execPath, ['--import', 'tsx', child, databaseUrl, owner.accountId], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  p.stderr.on('data', (d) => {
    err += d;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child never paused: ${err}`)), 30_000);
    p.stdout.on('data', (d) => {
      if (String(d).includes('PAUSED')) {
        clearTimeout(timer);
        resolve();
      }
    });
    p.on('exit', (code) => reject(new Error(`child exited (${code}) before pausing: ${err}`)));
  });
  // Half-way: the child's run holds the account's advisory lock, inside an open transaction.
  const { rows } = await t.sql.query(
    `select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted and a.state = 'idle in transaction'
        and a.datname = current_database()`,
  );
  expect(rows[0].n).toBe(1);
  const exited = new Promise((resolve) => p.on('exit', resolve));
  p.kill('SIGKILL');
  await exited;
}

describe('a run killed half-way', () => {
  it('leaves no trace but a FAILED run, and the rerun gives exactly the uninterrupted scores', async () => {
    await events(t, owner, [
      { contactId: c.a, type: 'EMAIL_OPEN' },
      { contactId: c.a, type: 'EMAIL_CLICK' },
      { contactId: c.b, type: 'EMAIL_OPEN' },
    ]);
    // Uninterrupted: a = opens 0.5 | -3 + 25 + 7 ; b = opens 0.5 | 0
    const first = await runAndWait(t, owner);
    expect(first.status).toBe('DONE');
    const expected1 = {
      [`${ids[0]}/${c.a}`]: '0.5',
      [`${ids[0]}/${c.b}`]: '0.5',
      [`${ids[1]}/${c.a}`]: '29',
    };
    expect(await storedScores(t, ids)).toEqual(expected1);

    // New events, then a run killed after writing its first score (the per-event one).
    await events(t, owner, [
      { contactId: c.a, type: 'EMAIL_OPEN' },
      { contactId: c.b, type: 'EMAIL_OPEN' },
      { contactId: c.b, type: 'EMAIL_CLICK' },
    ]);
    const url = (t.sql as unknown as { options: { connectionString: string } }).options.connectionString;
    const watermark = async () =>
      (
        await t.sql.query('select event_watermark::text as w from score_state where account_id = $1', [
          owner.accountId,
        ])
      ).rows[0]?.w;
    const before = await watermark();
    await killHalfWay(url);
    expect(await storedScores(t, ids)).toEqual(expected1);
    expect(await watermark()).toBe(before);
    const { rows: running } = await t.sql.query(`select status from score_run where status = 'RUNNING'`);
    expect(running).toHaveLength(1);

    // The rerun counts each new event exactly once.
    const rerun = await runAndWait(t, owner);
    expect(rerun.status).toBe('DONE');
    expect(await storedScores(t, ids)).toEqual({
      [`${ids[0]}/${c.a}`]: '1',
      [`${ids[0]}/${c.b}`]: '1',
      [`${ids[1]}/${c.a}`]: '29',
      [`${ids[1]}/${c.b}`]: '7',
    });
    const { rows: runs } = await t.sql.query(`select status, error from score_run order by started_at`);
    expect(runs.map((r) => r.status)).toEqual(['DONE', 'FAILED', 'DONE']);
    expect(runs[1].error).toMatch(/interrupted/);
    expect((await runAndWait(t, owner)).contactsChanged).toBe(0);
  });
});
