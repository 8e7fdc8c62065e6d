import { afterAll, beforeAll } from 'vitest';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from '../../../../test/harness.js';
import { trackingKey } from '../../events/tracking.token.js';
import { emailing, ops, verifiedSender } from '../../operations/testing/helpers.js';
import { unsubscribeUrl } from '../unsubscribe.js';

/**
 * A test server with two accounts (the first with an Emailing), and helpers to make contacts,
 * read what the endpoint wrote, and hit it over HTTP. Call at the top of a test file: it registers
 * its own beforeAll and afterAll; read `f.t` and the others inside tests only.
 */
export function unsubscribeFixture() {
  const f = {
    t: undefined as unknown as TestApp,
    owner: undefined as unknown as Actor,
    other: undefined as unknown as Actor,
    key: Buffer.alloc(0) as Buffer,
    origin: '',
    operationId: '',
  };
  beforeAll(async () => {
    f.t = await startTestApp({ TRACKING_SECRET: 'unsubscribe-test-secret-0123456789abcdef' });
    f.origin = new URL(f.t.url).origin;
    f.key = await trackingKey(f.t.app.services.config);
    f.owner = await signUpOwner(f.t, 'Acme <b>&</b> "Co"');
    f.other = await signUpOwner(f.t, 'Other');
    await verifiedSender(f.t, f.owner.accountId);
    f.operationId = ok(await ops(f.t).create(f.owner, emailing('Newsletter'))).createOperation.id;
  });
  afterAll(() => f.t.close());

  let n = 0;
  const hit = (path: string, init: RequestInit = {}) =>
    fetch(`${f.origin}${path}`, { redirect: 'manual', ...init });
  return Object.assign(f, {
    async contact(accountId: string, status = 'VALID'): Promise<string> {
      const { rows } = await f.t.sql.query<{ id: string }>(
        `insert into contact (account_id, email, email_status) values ($1, $2, $3) returning id::text`,
        [accountId, `reader${++n}@unsub.test`, status],
      );
      return rows[0].id;
    },
    statusOf: async (id: string) =>
      (await f.t.sql.query('select email_status from contact where id = $1', [id])).rows[0]?.email_status,
    eventsOf: async (id: string) =>
      (
        await f.t.sql.query(
          'select account_id, type, operation_id from contact_event where contact_id = $1 order by id',
          [id],
        )
      ).rows,
    auditOf: async (id: string) =>
      (
        await f.t.sql.query(
          `select account_id, user_id, action, diff from audit_entry where object_type = 'Contact' and object_id = $1`,
          [id],
        )
      ).rows,
    /** The link as mailed, sent to this test server (PUBLIC_URL is not the server's port here). */
    pathOf: (accountId: string, contactId: string, op: string | null = f.operationId) =>
      new URL(unsubscribeUrl(f.t.app.services.config, f.key, { accountId, contactId, operationId: op }))
        .pathname,
    hit,
    /** What Gmail and Yahoo send. */
    oneClick: (path: string) =>
      hit(path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      }),
  });
}
