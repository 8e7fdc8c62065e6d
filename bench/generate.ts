import type { BenchApp } from './lib.js';

const secs = (ms: number) => (ms / 1000).toFixed(2);
export const log = (m: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);

/**
 * The shared bench data set, in SQL (the API would take hours at this size): N contacts in one
 * account with the custom fields `revenue` (NUMBER, 60% set, 0–999.99) and `segment` (TEXT:
 * 'inactive' or 'vip' for 10% each), countries FR 30%, then BE CH DE ES IT UK US, and 20 x N
 * behaviour events over the last 90 days, skewed (a power law on the contact, so a few contacts
 * are very active and most are not), ~22% opens, 8% clicks, 3% page visits, the rest other types.
 * The events go through the real triggers (contact_activity, contact_recent), in 2M-row
 * statements, with the events' secondary index dropped while loading. Returns the lowest
 * contact id.
 */
export async function generateContactsAndEvents(
  b: BenchApp,
  token: string,
  accountId: string,
  n: number,
  eventsPerContact = 20,
): Promise<{ lo: number }> {
  const q = (sql: string, params: unknown[] = []) => b.pool.query(sql, params);
  const events = eventsPerContact * n;
  for (const [name, type] of [
    ['revenue', 'NUMBER'],
    ['segment', 'TEXT'],
  ])
    await b.gql(
      'mutation ($name: String!, $type: FieldType!) { defineContactField(input: { name: $name, type: $type }) { name } }',
      { name, type },
      token,
    );
  const t0 = performance.now();
  log(`generating ${n.toLocaleString('en-US')} contacts`);
  await q(
    `insert into contact (account_id, email, country, fields, unique_value)
     select $1, 'c' || g || '@bench.test', (array['FR','FR','FR','BE','CH','DE','ES','IT','UK','US'])[1 + g % 10],
            jsonb_strip_nulls(jsonb_build_object(
              'segment', case when g % 10 = 3 then 'inactive' when g % 10 = 4 then 'vip' end,
              'revenue', case when g % 5 < 3 then ((g::bigint * 7919) % 100000 / 100.0)::text end)),
            'c' || g || '@bench.test'
       from generate_series(1, $2::int) g`,
    [accountId, n],
  );
  const { rows: range } = await q('select min(id)::bigint as lo from contact where account_id = $1', [
    accountId,
  ]);
  const lo = Number(range[0].lo);
  log(`generating ${events.toLocaleString('en-US')} events over 90 days (index dropped while loading)`);
  await q('drop index contact_event_contact_index');
  // Skewed activity (power law on the contact), time order by id; ~30% opens and clicks.
  const chunk = 2_000_000;
  for (let from = 1; from <= events; from += chunk) {
    await q(
      `insert into contact_event (account_id, contact_id, type, occurred_at)
       select $1, $2::bigint + floor($3::int * power(random(), 2.2))::bigint,
              (case when r < 0.22 then 0 when r < 0.30 then 1 when r < 0.33 then 4 else 7 end)::smallint,
              now() - interval '90 days' + (g::float8 / $5::int) * interval '90 days'
         from (select g, random() as r from generate_series($4::int, least($4::int + ${chunk - 1}, $5::int)) g) x
        order by g`,
      [accountId, lo, n, from, events],
    );
  }
  await q(
    'create index contact_event_contact_index on contact_event (account_id, contact_id, type, occurred_at) include (id)',
  );
  for (const t of ['contact', 'contact_event', 'contact_activity', 'contact_recent'])
    await q(`vacuum analyze ${t}`);
  log(`data ready in ${secs(performance.now() - t0)} s`);
  return { lo };
}
