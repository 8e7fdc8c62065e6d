/**
 * freezeAudience of a whole account on real PostgreSQL, called as the dispatcher calls it (in the
 * transaction that starts the send): each member PENDING or EXCLUDED with its reason, the
 * duplicates of an address found among the reachable members only (the lowest id keeps it, case
 * folded), the counts returned and stored by reason, and the caller's work_mem left as it was.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { openOrm } from '../../db/orm.js';
import { findOperation } from '../operations/operation.repository.js';
import { freezeAudience } from './sending.freeze.js';

let t: TestApp;
let orm: MikroORM;
let a: Actor;

beforeAll(async () => {
  const app = await startTestApp();
  t = app;
  orm = await openOrm(app.databaseUrl);
  a = await signUpOwner(t, 'Freeze');
}, 120_000);
afterAll(async () => {
  await orm?.close();
  await t?.close();
});

/** Contacts in this order (so ids ascend): [name, email, email status]. */
const people: [string, string | null, string][] = [
  ['first', 'Dup@fz.test', 'VALID'],
  ['second', 'dup@fz.test', 'VALID'],
  ['third', 'DUP@FZ.TEST', 'VALID'],
  ['gone', 'shared@fz.test', 'UNSUBSCRIBED'],
  ['kept', 'Shared@fz.test', 'VALID'],
  ['bounced', 'b@fz.test', 'HARD_BOUNCED'],
  ['complained', 'c@fz.test', 'COMPLAINED'],
  ['empty', '', 'VALID'],
  ['none', null, 'VALID'],
  ['plain', 'p@fz.test', 'VALID'],
  // Signed up through a double opt-in form, not confirmed yet (src/modules/forms).
  ['unconfirmed', 'u@fz.test', 'UNCONFIRMED'],
];

describe('freezeAudience (all)', () => {
  it('writes every member once with its reason, counts them, and leaves work_mem as it was', async () => {
    const ids: Record<string, string> = {};
    for (const [name, email, status] of people) {
      const { rows } = await t.sql.query(
        `insert into contact (account_id, email, email_status, unique_value) values ($1, $2, $3, $4) returning id::text`,
        [a.accountId, email, status, name],
      );
      ids[name] = rows[0].id;
    }
    const { rows } = await t.sql.query(
      `insert into operation (account_id, kind, name, status, audience, content, content_hash)
       values ($1, 'EMAILING', 'freeze', 'VALIDATED', '{"segmentIds":[],"excludedSegmentIds":[],"allContacts":true}', '{}', 'h')
       returning id`,
      [a.accountId],
    );
    const opId: string = rows[0].id;

    const { frozen, workMem } = await orm.em.fork().transactional(async (em) => {
      await em.execute("set local work_mem = '4MB'");
      const op = await findOperation(em, a.accountId, opId, true);
      const frozen = await freezeAudience(em, op);
      const [{ work_mem }] = await em.execute<{ work_mem: string }[]>('show work_mem');
      return { frozen, workMem: work_mem };
    });

    expect(workMem).toBe('4MB');
    expect(frozen).toEqual({
      recipients: 3,
      excluded: {
        DUPLICATE_ADDRESS: 2,
        UNSUBSCRIBED: 1,
        HARD_BOUNCED: 1,
        COMPLAINED: 1,
        NO_ADDRESS: 2,
        UNCONFIRMED: 1,
      },
    });
    const { rows: got } = await t.sql.query(
      `select contact_id::text as id, address, status, reason, due_at is not null as due
         from operation_recipient where operation_id = $1`,
      [opId],
    );
    const byName = Object.fromEntries(
      got.map((r) => [Object.keys(ids).find((k) => ids[k] === r.id), [r.status, r.reason, r.address, r.due]]),
    );
    expect(byName).toEqual({
      first: ['PENDING', null, 'dup@fz.test', true],
      second: ['EXCLUDED', 'DUPLICATE_ADDRESS', 'dup@fz.test', false],
      third: ['EXCLUDED', 'DUPLICATE_ADDRESS', 'dup@fz.test', false],
      // An unreachable contact does not take the address from a reachable one.
      gone: ['EXCLUDED', 'UNSUBSCRIBED', 'shared@fz.test', false],
      kept: ['PENDING', null, 'shared@fz.test', true],
      bounced: ['EXCLUDED', 'HARD_BOUNCED', 'b@fz.test', false],
      complained: ['EXCLUDED', 'COMPLAINED', 'c@fz.test', false],
      empty: ['EXCLUDED', 'NO_ADDRESS', '', false],
      none: ['EXCLUDED', 'NO_ADDRESS', '', false],
      plain: ['PENDING', null, 'p@fz.test', true],
      unconfirmed: ['EXCLUDED', 'UNCONFIRMED', 'u@fz.test', false],
    });
    const { rows: send } = await t.sql.query(
      'select recipients, excluded from operation_send where operation_id = $1',
      [opId],
    );
    expect(send).toEqual([{ recipients: 3, excluded: frozen.excluded }]);
  });

  it('an audience without duplicates stores no DUPLICATE_ADDRESS count', async () => {
    const b = await signUpOwner(t, 'Unique');
    await t.sql.query(
      `insert into contact (account_id, email, unique_value)
       select $1, 'u' || g || '@fz.test', 'u' || g from generate_series(1, 5) g`,
      [b.accountId],
    );
    const { rows } = await t.sql.query(
      `insert into operation (account_id, kind, name, status, audience, content, content_hash)
       values ($1, 'EMAILING', 'freeze', 'VALIDATED', '{"segmentIds":[],"excludedSegmentIds":[],"allContacts":true}', '{}', 'h')
       returning id`,
      [b.accountId],
    );
    const frozen = await orm.em
      .fork()
      .transactional(async (em) =>
        freezeAudience(em, await findOperation(em, b.accountId, rows[0].id, true)),
      );
    expect(frozen).toEqual({ recipients: 5, excluded: {} });
  });
});

describe('freezeAudience, duplicates under the unique key', () => {
  const freeze = async (accountId: string, kind: 'EMAILING' | 'SMS' = 'EMAILING') => {
    const { rows } = await t.sql.query(
      `insert into operation (account_id, kind, name, status, audience, content, content_hash)
       values ($1, $2, 'freeze', 'VALIDATED', '{"segmentIds":[],"excludedSegmentIds":[],"allContacts":true}', '{}', 'h')
       returning id`,
      [accountId, kind],
    );
    const frozen = await orm.em
      .fork()
      .transactional(async (em) => freezeAudience(em, await findOperation(em, accountId, rows[0].id, true)));
    const { rows: got } = await t.sql.query<{ contact_id: string; reason: string | null }>(
      'select contact_id::text, reason from operation_recipient where operation_id = $1 order by contact_id',
      [rows[0].id],
    );
    return { frozen, reasons: got.map((r) => r.reason) };
  };

  it('finds a duplicate whose members hold the address as their unique value but one (written around the API)', async () => {
    // The account's key is the email: the unique constraint keeps two written through the API
    // apart, so the search looks only at addresses a member holds under another unique value.
    const b = await signUpOwner(t, 'Keyed');
    await t.sql.query(
      `insert into contact (account_id, email, unique_value) values
         ($1, 'same@fz.test', 'same@fz.test'), ($1, 'other@fz.test', 'other@fz.test'),
         ($1, 'SAME@fz.test', 'legacy-row'), ($1, 'solo@fz.test', null), ($1, 'Other@FZ.test', 'Other@FZ.test'),
         ($1, 'old@fz.test', 'old-1'), ($1, 'OLD@fz.test', 'old-2')`,
      [b.accountId],
    );
    const { frozen, reasons } = await freeze(b.accountId);
    expect(frozen).toEqual({ recipients: 4, excluded: { DUPLICATE_ADDRESS: 3 } });
    expect(reasons).toEqual([
      null,
      null,
      'DUPLICATE_ADDRESS',
      null,
      'DUPLICATE_ADDRESS',
      null,
      'DUPLICATE_ADDRESS',
    ]);
  });

  it('searches every address when the key is another field (SMS under the email key)', async () => {
    const b = await signUpOwner(t, 'Phones');
    await t.sql.query(
      `insert into contact (account_id, email, phone, unique_value) values
         ($1, 'p1@fz.test', '+33600000001', 'p1@fz.test'), ($1, 'p2@fz.test', '+33600000001', 'p2@fz.test'),
         ($1, 'p3@fz.test', '+33600000003', 'p3@fz.test')`,
      [b.accountId],
    );
    const { frozen, reasons } = await freeze(b.accountId, 'SMS');
    expect(frozen).toEqual({ recipients: 2, excluded: { DUPLICATE_ADDRESS: 1 } });
    expect(reasons).toEqual([null, 'DUPLICATE_ADDRESS', null]);
  });
});
