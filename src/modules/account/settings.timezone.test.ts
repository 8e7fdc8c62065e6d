import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Criterion, PreviewSegmentDocument } from '../../../test/generated/graphql.js';
import {
  type Actor,
  code,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
  viewerWith,
} from '../../../test/harness.js';

let t: TestApp;
let owner: Actor;

// test/operations/users.graphql's UpdateAccountSettings does not select timeZone: a typed call
// through it sees none whatever the server answers. These documents ask for it.
const SETTINGS = '{ accountSettings { timeZone scoreIntervalHours } }';
const UPDATE = `mutation($input: UpdateAccountSettingsInput!) {
  updateAccountSettings(input: $input) { timeZone scoreIntervalHours accountName } }`;

interface Settings {
  timeZone: string;
  scoreIntervalHours: number;
}

const settings = async (who: Actor = owner) =>
  ok(await t.gql<{ accountSettings: Settings }, Record<string, never>>(SETTINGS, {}, who.token))
    .accountSettings;
const update = (input: Record<string, unknown>, who: Actor = owner) =>
  t.gql<{ updateAccountSettings: Settings & { accountName: string } }, { input: Record<string, unknown> }>(
    UPDATE,
    { input },
    who.token,
  );
const stored = async () =>
  (
    await t.sql.query<{ tz: string | null }>(
      `select settings->>'timeZone' as tz from account where id = $1`,
      [owner.accountId],
    )
  ).rows[0].tz;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
});
afterAll(async () => {
  await t?.close();
});

describe('settings.timeZone', () => {
  it('defaults to Europe/Paris, also for an account whose settings predate it', async () => {
    expect((await settings()).timeZone).toBe('Europe/Paris');
    await t.sql.query(`update account set settings = settings - 'timeZone' where id = $1`, [owner.accountId]);
    expect(await stored()).toBeNull();
    expect((await settings()).timeZone).toBe('Europe/Paris');
    // Changing another setting keeps the default visible in the answer.
    expect(ok(await update({ scoreIntervalHours: 12 })).updateAccountSettings).toMatchObject({
      timeZone: 'Europe/Paris',
      scoreIntervalHours: 12,
    });
  });

  it('stores and returns a valid IANA name, current names included', async () => {
    for (const tz of [
      'America/New_York',
      'Asia/Kolkata',
      'Europe/Kyiv',
      'Etc/UTC',
      'UTC',
      'Pacific/Kiritimati',
    ]) {
      const r = ok(await update({ timeZone: ` ${tz} ` })).updateAccountSettings;
      expect(r.timeZone, tz).toBe(tz);
      expect(await stored(), tz).toBe(tz);
      expect((await settings()).timeZone, tz).toBe(tz);
    }
    // Other settings stay as they were.
    expect((await settings()).scoreIntervalHours).toBe(12);
  });

  it('refuses what is not a zone name PostgreSQL and Node both know exactly (BAD_USER_INPUT), nothing written', async () => {
    ok(await update({ timeZone: 'Europe/Paris' }));
    for (const tz of [
      'Mars/Olympus',
      'europe/paris',
      'CET+1',
      '',
      'Europe/Paris; drop table account',
      'UTC+3',
      '+02:00',
    ])
      expect(code(await update({ timeZone: tz })), JSON.stringify(tz)).toBe('BAD_USER_INPUT');
    expect(await stored()).toBe('Europe/Paris');
  });

  it('needs SETTINGS >= EDITOR to change', async () => {
    const guest = await viewerWith(t, owner, { SETTINGS: 'GUEST' });
    expect((await settings(guest)).timeZone).toBe('Europe/Paris');
    expect(code(await update({ timeZone: 'Asia/Tokyo' }, guest))).toBe('FORBIDDEN');
    expect(await stored()).toBe('Europe/Paris');
  });
});

/** Today's date in `tz` as YYYY-MM-DD, from Node's clock and ICU (not from PostgreSQL). */
const todayIn = (tz: string) =>
  new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date());
const addDays = (day: string, n: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

/**
 * UTC+14 and UTC-11: 25 hours apart, so their dates always differ (by 1 or 2 days) whatever the
 * hour. The fixture's dates are around today in UTC (written in SQL from now()), so both zones'
 * "today" is among them. Expected members are computed here from each zone's date by Node; if a
 * midnight of either zone passes during a check, the check is made again.
 */
const EAST = 'Pacific/Kiritimati';
const WEST = 'Pacific/Pago_Pago';

describe('relative date criteria in the account time zone', () => {
  let rows: { id: string; last_order: string; birth: string }[] = [];

  beforeAll(async () => {
    await t.sql.query(
      `insert into contact_field (account_id, name, label, type) values ($1, 'lastOrder', 'Last order', 'DATE')`,
      [owner.accountId],
    );
    // One contact per day from 4 days before to 4 days after today in UTC; birth dates 28 years
    // earlier keep the month and day (28 years hold 7 leap days: 29 February stays itself).
    rows = (
      await t.sql.query(
        `insert into contact (account_id, email, birth_date, fields)
         select $1, 'd' || k || '@x.test', ((now() at time zone 'UTC')::date + k - interval '28 years')::date,
                jsonb_build_object('lastOrder', to_char((now() at time zone 'UTC')::date + k, 'YYYY-MM-DD'))
           from generate_series(-4, 4) k
         returning id::text as id, fields->>'lastOrder' as last_order, to_char(birth_date, 'YYYY-MM-DD') as birth`,
        [owner.accountId],
      )
    ).rows;
  });

  const preview = async (criterion: Criterion) => {
    const p = ok(await t.gql(PreviewSegmentDocument, { criterion, first: 50 }, owner.token)).previewSegment;
    expect(p.contacts).toHaveLength(p.count);
    return p.contacts.map((c) => c.id).sort();
  };

  /** Members in `tz` against what `expected(today)` says, made again if the day changed meanwhile. */
  async function membersIn(tz: string, criterion: Criterion, expected: (today: string) => string[]) {
    ok(await update({ timeZone: tz }));
    for (let attempt = 0; attempt < 3; attempt++) {
      const before = todayIn(tz);
      const got = await preview(criterion);
      if (todayIn(tz) !== before) continue;
      expect(got, `${tz} on ${before}`).toEqual(expected(before).sort());
      return got;
    }
    throw new Error(`the day kept changing in ${tz}`);
  }

  it('IN_LAST_DAYS 1: yesterday and today, each in its zone', async () => {
    const criterion: Criterion = { field: { name: 'lastOrder', op: 'IN_LAST_DAYS', days: 1 } };
    const expected = (today: string) =>
      rows.filter((r) => r.last_order >= addDays(today, -1) && r.last_order <= today).map((r) => r.id);
    const east = await membersIn(EAST, criterion, expected);
    const west = await membersIn(WEST, criterion, expected);
    expect(east).toHaveLength(2);
    expect(west).toHaveLength(2);
    expect(east).not.toEqual(west);
  });

  it('ANNIVERSARY_IN_NEXT_DAYS 0: the birthday is today where the account is', async () => {
    const criterion: Criterion = { field: { name: 'birthDate', op: 'ANNIVERSARY_IN_NEXT_DAYS', days: 0 } };
    const expected = (today: string) =>
      rows.filter((r) => r.birth.slice(5) === today.slice(5)).map((r) => r.id);
    const east = await membersIn(EAST, criterion, expected);
    const west = await membersIn(WEST, criterion, expected);
    expect(east).toHaveLength(1);
    expect(west).toHaveLength(1);
    expect(east).not.toEqual(west);
  });
});
