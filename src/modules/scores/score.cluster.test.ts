import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateScoreDocument, RunScoreComputationDocument } from '../../../test/generated/graphql.js';
import { type Actor, code, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { loadConfig } from '../../config.js';
import { type App, buildApp } from '../../server.js';
import { createLogger } from '../../shared/logger.js';
import { scheduleScoreRun } from './score.jobs.js';
import { startScoreRun } from './score.runner.js';
import { runnerDeps } from './score.service.js';
import { contact } from './testing/helpers.js';

/** Two server processes' worth of app (each with its own Agenda and pools) on one database. */
let t: TestApp;
let second: App;
let owner: Actor;

beforeAll(async () => {
  t = await startTestApp();
  const url = (t.sql as unknown as { options: { connectionString: string } }).options.connectionString;
  second = await buildApp(loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' }), {
    databaseUrl: url,
    logger: createLogger('silent'),
  });
  await second.start();
  owner = await signUpOwner(t);
  await contact(t, owner, { email: 'a@x.test', city: 'Paris' });
  ok(
    await t.gql(
      CreateScoreDocument,
      {
        input: {
          name: 'S',
          conditions: [{ criterion: { field: { name: 'city', op: 'IS_SET' } }, mode: 'FIXED', value: '1' }],
        },
      },
      owner.token,
    ),
  );
});
afterAll(async () => {
  await second.stop();
  await t.close();
});

const gate = () => {
  let open = () => {};
  const p = new Promise<void>((r) => {
    open = r;
  });
  return { wait: () => p, open };
};

describe('two server processes on one database', () => {
  it('refuse a second run of the same account while one runs, on either process (CONFLICT)', async () => {
    const g = gate();
    const { done } = await startScoreRun(runnerDeps(t.app.services), owner.accountId, null, 'MANUAL', {
      afterScore: g.wait,
    });
    const onSecond = await fetch(second.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.token}` },
      body: JSON.stringify({ query: 'mutation { runScoreComputation { id } }' }),
    }).then((r) => r.json() as Promise<{ errors?: { extensions?: { code?: string } }[] }>);
    expect(onSecond.errors?.[0].extensions?.code).toBe('CONFLICT');
    expect(code(await t.gql(RunScoreComputationDocument, {}, owner.token))).toBe('CONFLICT');
    g.open();
    expect((await done).status).toBe('DONE');
  });

  it('when both start at the same moment, exactly one runs (20 races)', async () => {
    for (let i = 0; i < 20; i++) {
      const g = gate();
      const hooks = { afterScore: g.wait };
      const results = await Promise.allSettled([
        startScoreRun(runnerDeps(t.app.services), owner.accountId, null, 'MANUAL', hooks),
        startScoreRun(runnerDeps(second.services), owner.accountId, null, 'MANUAL', hooks),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect((lost[0] as PromiseRejectedResult).reason.extensions.code).toBe('CONFLICT');
      g.open();
      await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof startScoreRun>>>).value.done;
    }
  });

  it('a due scheduled computation runs once, though both Agendas poll the job', async () => {
    await t.sql.query('delete from score_run');
    await scheduleScoreRun(t.app.services, owner.accountId, new Date(Date.now() - 24 * 3_600_000 - 1000));
    let n = 0;
    for (let i = 0; i < 60 && n === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      n = (await t.sql.query(`select count(*)::int as n from score_run where trigger = 'SCHEDULED'`)).rows[0]
        .n;
    }
    expect(n).toBe(1);
    // Both processes poll every 3 s: give each of them time for two more polls.
    await new Promise((r) => setTimeout(r, 7_000));
    const { rows } = await t.sql.query(`select trigger, status from score_run`);
    expect(rows).toEqual([{ trigger: 'SCHEDULED', status: 'DONE' }]);
    const job = await t.sql.query(`select next_run_at from agenda_jobs where name = 'scores:compute'`);
    expect(job.rows[0].next_run_at.getTime()).toBeGreaterThan(Date.now() + 23 * 3_600_000);
  });
});
