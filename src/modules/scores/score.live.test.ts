import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateScoreDocument,
  RunScoreComputationDocument,
  ScoreDocument,
  ScoreRunProgressDocument,
  ScoreUpdatedDocument,
  UpdateAccountSettingsDocument,
} from '../../../test/generated/graphql.js';
import {
  type Actor,
  nextResults,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
  viewerWith,
} from '../../../test/harness.js';
import { contact, waitRun } from './testing/helpers.js';

let t: TestApp;
let owner: Actor;
let guest: Actor;
let scoreId = '';
const c: Record<string, string> = {};
const HOUR = 3_600_000;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
  guest = await viewerWith(t, owner, { CONTACTS: 'GUEST' });
  c.paris = await contact(t, owner, { email: 'p@x.test', city: 'Paris' });
  c.lyon = await contact(t, owner, { email: 'l@x.test', city: 'Lyon' });
  scoreId = ok(
    await t.gql(
      CreateScoreDocument,
      {
        input: {
          name: 'City',
          conditions: [
            { criterion: { field: { name: 'city', op: 'EQ', value: 'Paris' } }, mode: 'FIXED', value: '2.5' },
          ],
        },
      },
      owner.token,
    ),
  ).createScore.id;
});
afterAll(() => t.close());

describe('live score updates over graphql-ws', () => {
  it('a GUEST receives scoreUpdated (filtered by contact) and scoreRunProgress until DONE', async () => {
    const ws = t.ws(guest.token);
    const all = nextResults(ws, ScoreUpdatedDocument, 1, {});
    const lyonOnly = nextResults(ws, ScoreUpdatedDocument, 1, { contactId: c.lyon });
    const paris = nextResults(ws, ScoreUpdatedDocument, 1, { scoreId, contactId: c.paris });
    await new Promise((r) => setTimeout(r, 300));
    const run = ok(await t.gql(RunScoreComputationDocument, {}, owner.token)).runScoreComputation;
    expect(run.status).toBe('RUNNING');
    const progress: { status: string }[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.subscribe(
        { query: print(ScoreRunProgressDocument), variables: { runId: run.id } },
        {
          next: (v) => progress.push((v.data as { scoreRunProgress: { status: string } }).scoreRunProgress),
          error: reject,
          complete: resolve,
        },
      );
    });
    expect(progress.at(-1)).toMatchObject({ status: 'DONE', contactsChanged: 1 });
    const [batch] = await all.results;
    expect(batch.data?.scoreUpdated).toEqual({
      runId: run.id,
      truncated: false,
      totalChanged: 1,
      changes: [{ contactId: c.paris, scoreId, runId: run.id, oldValue: null, newValue: '2.5' }],
    });
    expect((await paris.results)[0].data?.scoreUpdated.changes).toHaveLength(1);
    // Nothing concerned Lyon: that subscription got nothing.
    const none = await Promise.race([
      lyonOnly.results,
      new Promise((r) => setTimeout(() => r('nothing'), 300)),
    ]);
    expect(none).toBe('nothing');
    lyonOnly.stop();
  });
});

describe('changes carry the old value', () => {
  it('sends old and new values of the rows a rerun changed, and only those', async () => {
    await t.sql.query(`update contact set city = case city when 'Paris' then 'Nice' else 'Paris' end`);
    const ws = t.ws(guest.token);
    const sub = nextResults(ws, ScoreUpdatedDocument, 1, {});
    await new Promise((r) => setTimeout(r, 300));
    const run = ok(await t.gql(RunScoreComputationDocument, {}, owner.token)).runScoreComputation;
    const [batch] = await sub.results;
    const changes = [...(batch.data?.scoreUpdated.changes ?? [])].sort((a, b) =>
      a.contactId.localeCompare(b.contactId),
    );
    expect(batch.data?.scoreUpdated.totalChanged).toBe(2);
    expect(changes).toEqual(
      [
        { contactId: c.paris, scoreId, runId: run.id, oldValue: '2.5', newValue: '0' },
        { contactId: c.lyon, scoreId, runId: run.id, oldValue: null, newValue: '2.5' },
      ].sort((a, b) => a.contactId.localeCompare(b.contactId)),
    );
  });
});

describe('scheduling', () => {
  it('after a manual run the next automatic one is scoreIntervalHours (24) after it', async () => {
    const run = ok(await t.gql(RunScoreComputationDocument, {}, owner.token)).runScoreComputation;
    await waitRun(t, owner, run.id);
    const score = ok(await t.gql(ScoreDocument, { id: scoreId }, owner.token)).score;
    expect(new Date(score?.nextRunAt ?? 0).getTime() - new Date(run.startedAt).getTime()).toBe(24 * HOUR);
    const { rows } = await t.sql.query(
      `select next_run_at, data from agenda_jobs where name = 'scores:compute'`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].next_run_at.getTime()).toBe(new Date(run.startedAt).getTime() + 24 * HOUR);

    ok(await t.gql(UpdateAccountSettingsDocument, { input: { scoreIntervalHours: 6 } }, owner.token));
    const run2 = ok(await t.gql(RunScoreComputationDocument, {}, owner.token)).runScoreComputation;
    await waitRun(t, owner, run2.id);
    const again = await t.sql.query(`select next_run_at from agenda_jobs where name = 'scores:compute'`);
    expect(again.rows).toHaveLength(1);
    expect(again.rows[0].next_run_at.getTime()).toBe(new Date(run2.startedAt).getTime() + 6 * HOUR);
  });

  it('when due, Agenda runs it (SCHEDULED, nobody) and schedules the next one an interval later', async () => {
    await t.sql.query(`update agenda_jobs set next_run_at = now() where name = 'scores:compute'`);
    let run: { trigger: string; user_id: string | null; status: string; started_at: Date } | undefined;
    for (let i = 0; i < 100 && !run; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const { rows } = await t.sql.query(
        `select * from score_run where trigger = 'SCHEDULED' and status = 'DONE'`,
      );
      run = rows[0];
    }
    expect(run).toMatchObject({ trigger: 'SCHEDULED', user_id: null, status: 'DONE' });
    let next = 0;
    for (let i = 0; i < 50; i++) {
      const { rows } = await t.sql.query(
        `select next_run_at, locked_at from agenda_jobs where name = 'scores:compute'`,
      );
      if (!rows[0].locked_at && rows[0].next_run_at) {
        next = rows[0].next_run_at.getTime();
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const started = (run as { started_at: Date }).started_at.getTime();
    expect(Math.abs(next - (started + 6 * HOUR))).toBeLessThan(5_000);
  });
});
