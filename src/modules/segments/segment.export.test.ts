import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, signUpOwner, startTestApp, type TestApp, viewerWith } from '../../../test/harness.js';

let t: TestApp;
let owner: Actor;
let segmentId: string;
let base: string;

/** RFC 4180 as PostgreSQL writes it: quoted fields may hold commas, quotes (doubled) and newlines. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (ch !== '\r') field += ch;
  }
  if (field || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

const get = (path: string, token?: string | null, method = 'GET') =>
  fetch(`${base}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });

const insertSegment = async (accountId: string, name: string, criterion: unknown) =>
  (
    await t.sql.query<{ id: string }>(
      'insert into segment (account_id, name, criterion) values ($1, $2, $3) returning id::text as id',
      [accountId, name, JSON.stringify(criterion)],
    )
  ).rows[0].id;

beforeAll(async () => {
  t = await startTestApp();
  base = t.url.replace(/\/graphql$/, '');
  owner = await signUpOwner(t);
  const a = owner.accountId;
  await t.sql.query(
    `insert into contact_field (account_id, name, label, type) values ($1, 'plan', 'Plan', 'TEXT'), ($1, 'revenue', 'Revenue', 'NUMBER')`,
    [a],
  );
  const scores = await t.sql.query<{ id: string }>(
    // Score columns come in creation order: distinct created_at, not two rows of one statement's now().
    `insert into score (account_id, name, created_at) values ($1, 'Engagement, "hot"', now()), ($1, '=cmd|calc', now() + interval '1 second') returning id::text as id`,
    [a],
  );
  await t.sql.query(
    `insert into contact (account_id, email, first_name, city, country, fields)
     select $1, 'c' || i || '@example.com', 'Name ' || i, case when i % 2 = 0 then 'Lyon' else 'Paris, 75' end,
            case when i % 3 = 0 then 'DE' else 'FR' end,
            jsonb_build_object('plan', 'p' || i, 'revenue', (i - 5)::text)
       from generate_series(1, 30) i`,
    [a],
  );
  await t.sql.query(
    `insert into contact (account_id, email, first_name, last_name, city, country, fields) values
       ($1, 'x@example.com', '=HYPERLINK("http://evil.example","click")', '+1+2', '@SUM(A1)', 'FR', '{"plan":"-2+3"}')`,
    [a],
  );
  // Only some contacts have a score row: the others export 0.
  await t.sql.query(
    `insert into contact_score (score_id, contact_id, account_id, value)
     select $2, id, $1, id % 7 from contact where account_id = $1 and id % 2 = 0`,
    [a, scores.rows[0].id],
  );
  segmentId = await insertSegment(a, 'FR people / été', {
    field: { name: 'country', op: 'EQ', value: 'FR' },
  });
});
afterAll(async () => {
  await t?.close();
});

describe('GET /export/segments/<id>.csv', () => {
  it('needs a valid token (401), CONTACTS >= EDITOR (403) and GET (405)', async () => {
    expect((await get(`/export/segments/${segmentId}.csv`)).status).toBe(401);
    const bad = await get(`/export/segments/${segmentId}.csv`, 'cib_not-a-token');
    expect(bad.status).toBe(401);
    expect(
      ((await bad.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code,
    ).toBe('UNAUTHENTICATED');
    for (const level of ['NONE', 'GUEST'] as const) {
      const v = await viewerWith(t, owner, { CONTACTS: level });
      const r = await get(`/export/segments/${segmentId}.csv`, v.token);
      expect(r.status, level).toBe(403);
      expect(await r.text()).toMatch(/CONTACTS at EDITOR/);
    }
    for (const level of ['EDITOR', 'APPROVER'] as const) {
      const v = await viewerWith(t, owner, { CONTACTS: level });
      const r = await get(`/export/segments/${segmentId}.csv`, v.token);
      expect(r.status, level).toBe(200);
      await r.text();
    }
    expect((await get(`/export/segments/${segmentId}.csv`, owner.token, 'POST')).status).toBe(405);
  });

  it("answers 404 for another account's segment and for ids that are not a segment", async () => {
    const other = await signUpOwner(t, 'Other');
    const theirs = await insertSegment(other.accountId, 'Theirs', { hasEmail: true });
    expect((await get(`/export/segments/${theirs}.csv`, owner.token)).status).toBe(404);
    expect((await get(`/export/segments/${theirs}.csv`, other.token)).status).toBe(200);
    expect((await get('/export/segments/not-a-uuid.csv', owner.token)).status).toBe(404);
  });

  it('streams the members as CSV: standard fields, custom fields, scores; formulas neutralised; audited', async () => {
    const r = await get(`/export/segments/${segmentId}.csv`, owner.token);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(r.headers.get('content-disposition')).toBe('attachment; filename="segment-FR-people-ete.csv"');
    const [header, ...rows] = parseCsv(await r.text());
    expect(header).toEqual([
      'id',
      'email',
      'phone',
      'firstName',
      'lastName',
      'gender',
      'birthDate',
      'city',
      'department',
      'country',
      'emailStatus',
      'createdAt',
      'plan',
      'revenue',
      'Engagement, "hot"',
      "'=cmd|calc",
    ]);
    // The members, computed by hand from the raw tables.
    const { rows: expected } = await t.sql.query<{
      id: string;
      email: string;
      city: string;
      plan: string;
      s: string;
    }>(
      `select c.id::text as id, c.email, c.city, c.fields->>'plan' as plan, coalesce(cs.value, 0)::text as s
         from contact c left join contact_score cs on cs.contact_id = c.id
                        and cs.score_id = (select id from score where account_id = $1 and name like 'Engagement%')
        where c.account_id = $1 and c.country = 'FR' order by c.id`,
      [owner.accountId],
    );
    expect(rows.length).toBe(expected.length);
    expect(rows.length).toBe(21);
    const col = (name: string) => header.indexOf(name);
    for (const [i, e] of expected.entries()) {
      const row = rows[i];
      expect(row.length).toBe(header.length);
      expect(row[0]).toBe(e.id);
      expect(row[col('email')]).toBe(e.email);
      expect(row[col('country')]).toBe('FR');
      expect(row[col('emailStatus')]).toBe('VALID');
      expect(row[col('createdAt')]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Number(row[col('Engagement, "hot"')])).toBe(Number(e.s));
      expect(row[col("'=cmd|calc")]).toBe('0');
      if (e.email !== 'x@example.com') {
        expect(row[col('city')]).toBe(e.city); // "Paris, 75" quoted by COPY
        expect(row[col('plan')]).toBe(e.plan);
      }
    }
    expect(rows.some((row) => row[col('revenue')] === '-4')).toBe(true); // a negative number stays a number
    const evil = rows.find((row) => row[col('email')] === 'x@example.com');
    expect(evil?.[col('firstName')]).toBe(`'=HYPERLINK("http://evil.example","click")`);
    expect(evil?.[col('lastName')]).toBe("'+1+2");
    expect(evil?.[col('city')]).toBe("'@SUM(A1)");
    expect(evil?.[col('plan')]).toBe("'-2+3");

    const { rows: audit } = await t.sql.query(
      `select user_id, feature, object_type, diff from audit_entry
        where action = 'exportSegment' and object_id = $1 and user_id = $2`,
      [segmentId, owner.userId],
    );
    expect(audit).toEqual([
      {
        user_id: owner.userId,
        feature: 'CONTACTS',
        object_type: 'Segment',
        diff: { rows: 21, name: 'FR people / été' },
      },
    ]);
  });
});
