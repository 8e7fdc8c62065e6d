/**
 * Per-contact activity (contact_activity, kept by triggers on contact_event) and the first score
 * run that reads it instead of aggregating every event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateScoreDocument, DeleteContactsDocument } from '../../../test/generated/graphql.js';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { EVENT_TYPES, type EventType } from '../events/event.entity.js';
import { compileScoreRun } from './score.compile.js';
import { startScoreRun } from './score.runner.js';
import { runnerDeps } from './score.service.js';
import { contact, events, runAndWait, storedScores } from './testing/helpers.js';

let t: TestApp;
let owner: Actor;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
});
afterAll(() => t.close());

/** contact_activity against counts computed from the events themselves, for one account. */
async function activityAndTruth() {
  const activity = await t.sql.query<{ contact_id: string; counts: string[] }>(
    'select contact_id::text, counts::text[] as counts from contact_activity where account_id = $1 order by 1',
    [owner.accountId],
  );
  const truth = await t.sql.query<{ contact_id: string; type: number; n: string }>(
    `select contact_id::text, type, count(*)::text as n from contact_event where account_id = $1
      group by 1, 2 order by 1, 2`,
    [owner.accountId],
  );
  const fromActivity: Record<string, string> = {};
  for (const r of activity.rows)
    r.counts.forEach((n, i) => {
      if (n !== '0') fromActivity[`${r.contact_id}/${EVENT_TYPES[i]}`] = n;
    });
  const fromEvents = Object.fromEntries(
    truth.rows.map((r) => [`${r.contact_id}/${EVENT_TYPES[r.type]}`, r.n]),
  );
  return { fromActivity, fromEvents, rows: activity.rows.length };
}

describe('contact activity', () => {
  it('counts every event type as events arrive, and forgets deleted contacts', async () => {
    const a = await contact(t, owner, { email: 'act-a@x.test' });
    const b = await contact(t, owner, { email: 'act-b@x.test' });
    const list: { contactId: string; type: EventType }[] = [];
    EVENT_TYPES.forEach((type, i) => {
      for (let k = 0; k <= i; k++) list.push({ contactId: a, type });
      list.push({ contactId: b, type });
    });
    await events(t, owner, list);
    await events(t, owner, [{ contactId: a, type: 'BOUNCE' }]);
    const before = await activityAndTruth();
    expect(before.fromActivity[`${a}/BOUNCE`]).toBe(String(EVENT_TYPES.indexOf('BOUNCE') + 2));
    expect(before.fromActivity).toEqual(before.fromEvents);
    expect(Object.keys(before.fromEvents)).toHaveLength(2 * EVENT_TYPES.length);

    ok(await t.gql(DeleteContactsDocument, { ids: [a] }, owner.token));
    const after = await activityAndTruth();
    expect(after.fromActivity).toEqual(after.fromEvents);
    expect(after.rows).toBe(1);
    expect(Object.keys(after.fromEvents).every((k) => k.startsWith(`${b}/`))).toBe(true);
  });
});

describe('contact activity under concurrent writes', () => {
  it('stays equal to the events while events arrive and contacts are deleted at once', async () => {
    for (let round = 0; round < 5; round++) {
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) ids.push(await contact(t, owner, { email: `conc-${round}-${i}@x.test` }));
      await events(
        t,
        owner,
        ids.map((contactId) => ({ contactId, type: 'EMAIL_OPEN' as const })),
      );
      // Events for every contact, in both orders, while half of the contacts are deleted.
      const batch = (list: string[]) =>
        list.flatMap((contactId) => [
          { contactId, type: 'EMAIL_CLICK' as const },
          { contactId, type: 'SMS_CLICK' as const },
        ]);
      const results = await Promise.allSettled([
        events(t, owner, batch(ids)),
        events(t, owner, batch([...ids].reverse())),
        t.gql(DeleteContactsDocument, { ids: ids.filter((_, i) => i % 2 === 0).reverse() }, owner.token),
      ]);
      for (const r of results) {
        // An insert may be refused because its contact was deleted first: a clean NOT_FOUND-style
        // error, never a deadlock or a database error.
        if (r.status === 'rejected') expect(String(r.reason)).not.toMatch(/deadlock|internal|unexpected/i);
        else expect(JSON.stringify(r.value)).not.toMatch(/deadlock|INTERNAL/i);
      }
      const now = await activityAndTruth();
      expect(now.fromActivity).toEqual(now.fromEvents);
      // No event outlives its contact: inserts lock the contacts they write for.
      const orphans = await t.sql.query(
        `select count(*)::int as n from contact_event e
          where e.account_id = $1 and not exists (select 1 from contact c where c.id = e.contact_id)`,
        [owner.accountId],
      );
      expect(orphans.rows[0].n).toBe(0);
    }
  });
});

describe('first run from the activity', () => {
  it('reads contact_activity only on the first run and for filters on event types alone', () => {
    const perEvent = (event: Record<string, unknown>) => [
      { criterion: { event } as never, mode: 'FIXED_PER_EVENT' as const, value: '1', coefficient: '1' },
    ];
    const sql = (event: Record<string, unknown>, fromStart: boolean) =>
      compileScoreRun(perEvent(event), { fields: new Map() }, 'first', 0, fromStart).sql;
    expect(sql({ type: 'EMAIL_OPEN' }, true)).toContain('contact_activity');
    expect(sql({ type: 'EMAIL_OPEN' }, false)).not.toContain('contact_activity');
    expect(sql({ type: 'EMAIL_CLICK', url: 'https://x.test/' }, true)).not.toContain('contact_activity');
    expect(sql({ type: 'EMAIL_OPEN', withinDays: 7 }, true)).not.toContain('contact_activity');
  });

  it('counts exactly the events up to the watermark, though later ones are visible mid-run', async () => {
    await t.sql.query('delete from contact_event where account_id = $1', [owner.accountId]);
    const x = await contact(t, owner, { email: 'act-x@x.test', city: 'Paris' });
    const y = await contact(t, owner, { email: 'act-y@x.test' });
    await events(t, owner, [
      { contactId: x, type: 'EMAIL_OPEN' },
      { contactId: x, type: 'EMAIL_OPEN' },
      { contactId: x, type: 'EMAIL_CLICK' },
      { contactId: x, type: 'SMS_CLICK' },
      { contactId: y, type: 'EMAIL_CLICK' },
    ]);
    // Computed first: the hook after it lets new events commit before the second one runs.
    const first = ok(
      await t.gql(
        CreateScoreDocument,
        {
          input: {
            name: 'Paris',
            conditions: [
              { criterion: { field: { name: 'city', op: 'EQ', value: 'Paris' } }, mode: 'FIXED', value: '5' },
            ],
          },
        },
        owner.token,
      ),
    ).createScore.id;
    const perEvent = ok(
      await t.gql(
        CreateScoreDocument,
        {
          input: {
            name: 'Opens and clicks',
            conditions: [
              {
                criterion: { any: [{ event: { type: 'EMAIL_OPEN' } }, { event: { type: 'EMAIL_CLICK' } }] },
                mode: 'FIXED_PER_EVENT',
                value: '1.5',
              },
              { criterion: { event: { type: 'SMS_CLICK' } }, mode: 'FIXED_PER_EVENT', value: '-2' },
            ],
          },
        },
        owner.token,
      ),
    ).createScore.id;

    const { done } = await startScoreRun(
      runnerDeps(t.app.services),
      owner.accountId,
      owner.userId,
      'MANUAL',
      {
        afterScore: async (i) => {
          if (i === 0)
            await events(t, owner, [
              { contactId: x, type: 'EMAIL_OPEN' },
              { contactId: y, type: 'EMAIL_CLICK' },
              { contactId: y, type: 'SMS_CLICK' },
            ]);
        },
      },
    );
    expect((await done).status).toBe('DONE');
    // Only the five events before the run: x = 3 x 1.5 - 2, y = 1.5.
    expect(await storedScores(t, [first, perEvent])).toEqual({
      [`${first}/${x}`]: '5',
      [`${perEvent}/${x}`]: '2.5',
      [`${perEvent}/${y}`]: '1.5',
    });
    // The three that arrived mid-run count in the next run, once.
    expect((await runAndWait(t, owner)).status).toBe('DONE');
    expect(await storedScores(t, [first, perEvent])).toEqual({
      [`${first}/${x}`]: '5',
      [`${perEvent}/${x}`]: '4',
      [`${perEvent}/${y}`]: '1',
    });
  });
});
