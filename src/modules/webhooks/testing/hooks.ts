import { type Actor, ok, type TestApp } from '../../../../test/harness.js';

export const HOOK_FIELDS =
  'id name url eventTypes fields status active statusReason secretHint failureStreak';

/** A webhook created and activated by `owner` (APPROVER everywhere); returns its id and secret. */
export async function activeHook(
  t: TestApp,
  owner: Actor,
  input: Record<string, unknown>,
): Promise<{ id: string; secret: string }> {
  const created = ok(
    await t.gql<{ createWebhook: { webhook: { id: string }; secret: string } }, Record<string, unknown>>(
      `mutation($input: WebhookInput!) { createWebhook(input: $input) { webhook { id } secret } }`,
      { input: { name: 'ERP', ...input } },
      owner.token,
    ),
  );
  const id = created.createWebhook.webhook.id;
  ok(await t.gql(`mutation($id: ID!) { activateWebhook(id: $id) { id } }`, { id }, owner.token));
  return { id, secret: created.createWebhook.secret };
}

/** `n` contacts of the account made in SQL, their ids in order. */
export async function contactsOf(t: TestApp, accountId: string, n: number): Promise<string[]> {
  const { rows } = await t.sql.query<{ id: string }>(
    `insert into contact (account_id, email, first_name)
     select $1, 'c' || g || '@example.org', 'Name' || g from generate_series(1, $2) g returning id::text`,
    [accountId, n],
  );
  return rows.map((r) => r.id);
}

/** `n` EMAIL_CLICK events (type 1) in one statement, spread over `contacts`. */
export async function clicks(t: TestApp, accountId: string, contacts: string[], n: number): Promise<void> {
  await t.sql.query(
    `insert into contact_event (account_id, contact_id, type, occurred_at, url)
     select $1, ($2::bigint[])[1 + (g % cardinality($2::bigint[]))], 1, now(), 'https://acme.example/' || g
       from generate_series(1, $3) g`,
    [accountId, contacts, n],
  );
}

export const deliveries = async (t: TestApp, webhookId: string) =>
  (
    await t.sql.query<{
      id: string;
      status: string;
      attempts: number;
      event_type: string;
      payload: Record<string, unknown>;
    }>(
      'select id::text, status, attempts, event_type, payload from webhook_delivery where webhook_id = $1 order by id',
      [webhookId],
    )
  ).rows;
