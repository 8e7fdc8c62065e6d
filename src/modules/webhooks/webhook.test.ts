/**
 * Webhooks end to end on a real server and a real HTTP receiver: rights and the activation
 * workflow, Standard Webhooks signatures checked by the reference package, payloads (ids only
 * unless fields are named), the outbox written by the change's own transaction (a rollback sends
 * nothing), every kind of change feeding it, and rotation.
 */
import { Webhook as Verifier } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Actor,
  code,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
  viewerWith,
} from '../../../test/harness.js';
import { sleep, waitUntil } from '../../../test/wait.js';
import { activeHook, clicks, contactsOf, deliveries, HOOK_FIELDS } from './testing/hooks.js';
import { type Receiver, startReceiver } from './testing/receiver.js';

let t: TestApp;
let owner: Actor;
let rx: Receiver;

beforeAll(async () => {
  t = await startTestApp({ WEBHOOK_DISPATCH_MS: '200' });
  owner = await signUpOwner(t);
  rx = await startReceiver();
});
afterAll(async () => {
  await rx?.close();
  await t?.close();
});

const CREATE = `mutation($input: WebhookInput!) { createWebhook(input: $input) { webhook { ${HOOK_FIELDS} } secret } }`;

describe('rights and workflow', () => {
  it('EDITOR creates INACTIVE and sees the secret once; GUEST reads; only APPROVER activates', async () => {
    const editor = await viewerWith(t, owner, { WEBHOOKS: 'EDITOR' });
    const guest = await viewerWith(t, owner, { WEBHOOKS: 'GUEST' });
    const none = await viewerWith(t, owner, { CONTACTS: 'APPROVER' });
    const input = { name: 'CRM', url: rx.url, eventTypes: ['EMAIL_CLICK'] };
    expect(code(await t.gql(CREATE, { input }, guest.token))).toBe('FORBIDDEN');
    const made = ok(
      await t.gql<
        { createWebhook: { webhook: { id: string; status: string; secretHint: string }; secret: string } },
        Record<string, unknown>
      >(CREATE, { input }, editor.token),
    ).createWebhook;
    expect(made.webhook.status).toBe('INACTIVE');
    expect(made.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(made.secret.slice(6), 'base64').length).toBeGreaterThanOrEqual(24);
    expect(made.webhook.secretHint).toBe(`whsec_…${made.secret.slice(-4)}`);
    const id = made.webhook.id;
    const read = await t.gql<{ webhook: Record<string, unknown> }, { id: string }>(
      `query($id: ID!) { webhook(id: $id) { ${HOOK_FIELDS} } }`,
      { id },
      guest.token,
    );
    expect(JSON.stringify(read.data)).not.toContain(made.secret.slice(6, 20));
    expect(code(await t.gql(`query { webhooks { id } }`, {}, none.token))).toBe('FORBIDDEN');
    const activate = `mutation($id: ID!) { activateWebhook(id: $id) { status } }`;
    expect(code(await t.gql(activate, { id }, editor.token))).toBe('FORBIDDEN');
    const approver = await viewerWith(t, owner, { WEBHOOKS: 'APPROVER' });
    expect(
      ok(
        await t.gql<{ activateWebhook: { status: string } }, { id: string }>(
          activate,
          { id },
          approver.token,
        ),
      ).activateWebhook.status,
    ).toBe('ACTIVE');
    // An editor changing where data goes switches it off; renaming does not.
    const update = `mutation($id: ID!, $input: WebhookInput!) { updateWebhook(id: $id, input: $input) { status statusReason name } }`;
    const renamed = ok(
      await t.gql<{ updateWebhook: { status: string } }, Record<string, unknown>>(
        update,
        { id, input: { name: 'CRM 2' } },
        editor.token,
      ),
    );
    expect(renamed.updateWebhook.status).toBe('ACTIVE');
    const moved = ok(
      await t.gql<{ updateWebhook: { status: string; statusReason: string } }, Record<string, unknown>>(
        update,
        { id, input: { fields: ['email'] } },
        editor.token,
      ),
    );
    expect(moved.updateWebhook).toMatchObject({
      status: 'INACTIVE',
      statusReason: expect.stringContaining(editor.email),
    });
    const { rows } = await t.sql.query(`select action from audit_entry where object_id = $1 order by id`, [
      id,
    ]);
    expect(rows.map((r) => r.action)).toEqual([
      'createWebhook',
      'activateWebhook',
      'updateWebhook',
      'updateWebhook',
    ]);
    ok(await t.gql(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id }, editor.token));
  });

  it('refuses bad input with BAD_USER_INPUT and answers NOT_FOUND for another account', async () => {
    const bad = async (input: Record<string, unknown>) =>
      code(
        await t.gql(
          CREATE,
          { input: { name: 'x', url: rx.url, eventTypes: ['EMAIL_OPEN'], ...input } },
          owner.token,
        ),
      );
    expect(await bad({ url: 'ftp://example.org/x' })).toBe('BAD_USER_INPUT');
    expect(await bad({ url: 'not a url' })).toBe('BAD_USER_INPUT');
    expect(await bad({ url: 'https://user:pw@example.org/' })).toBe('BAD_USER_INPUT');
    expect(await bad({ eventTypes: [] })).toBe('BAD_USER_INPUT');
    expect(await bad({ eventTypes: ['TEST'] })).toBe('BAD_USER_INPUT');
    expect(await bad({ fields: ['noSuchField'] })).toBe('BAD_USER_INPUT');
    expect(await bad({ filter: { field: { name: 'nope', op: 'EQ', value: 'x' } } })).toBe('BAD_USER_INPUT');
    expect(await bad({ name: '' })).toBe('BAD_USER_INPUT');
    const other = await signUpOwner(t, 'Other');
    const { id } = await activeHook(t, other, { url: rx.url, eventTypes: ['EMAIL_OPEN'] });
    expect(code(await t.gql(`query($id: ID!) { webhook(id: $id) { id } }`, { id }, owner.token))).toBe(
      'NOT_FOUND',
    );
    expect(
      code(await t.gql(`mutation($id: ID!) { sendTestWebhook(id: $id) { id } }`, { id }, owner.token)),
    ).toBe('NOT_FOUND');
    expect(
      code(
        await t.gql(
          `query($id: ID!) { webhookDeliveries(webhookId: $id) { nodes { id } } }`,
          { id },
          owner.token,
        ),
      ),
    ).toBe('NOT_FOUND');
    ok(await t.gql(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id }, other.token));
  });
});

describe('deliveries', () => {
  it('signs as Standard Webhooks says (the reference package verifies, a changed byte fails) with ids only', async () => {
    const { id, secret } = await activeHook(t, owner, { url: rx.url, eventTypes: ['EMAIL_CLICK'] });
    const [contact] = await contactsOf(t, owner.accountId, 1);
    const before = rx.hits.length;
    await clicks(t, owner.accountId, [contact], 3);
    await waitUntil(() => rx.hits.length >= before + 3, 'three deliveries');
    const mine = rx.hits.slice(before);
    const verifier = new Verifier(secret);
    for (const h of mine) {
      const body = verifier.verify(h.body, h.headers) as { type: string; data: Record<string, unknown> };
      expect(body.type).toBe('event.email_click');
      expect(Object.keys(body.data).sort()).toEqual(['contactId', 'eventId', 'machine', 'occurredAt', 'url']);
      expect(body.data.contactId).toBe(contact);
      expect(h.id).toMatch(/^msg_\d+$/);
      expect(Math.abs(Number(h.timestamp) - Date.now() / 1000)).toBeLessThan(60);
      const changed = h.body.replace('email_click', 'email_clicK');
      expect(() => verifier.verify(changed, h.headers)).toThrow();
    }
    // In event order.
    const urls = mine.map((h) => JSON.parse(h.body).data.url);
    expect(urls).toEqual([...urls].sort((a, b) => Number(a.split('/').pop()) - Number(b.split('/').pop())));
    // Outcomes are recorded after the answers, beside the next posts.
    await waitUntil(
      async () => (await deliveries(t, id)).every((d) => d.status === 'SUCCEEDED'),
      'the outcomes recorded',
    );
    const page = ok(
      await t.gql<
        {
          webhookDeliveries: {
            nodes: {
              status: string;
              attempts: number;
              responseStatus: number;
              durationMs: number;
              responseBody: string;
              eventType: string;
            }[];
          };
        },
        { id: string }
      >(
        `query($id: ID!) { webhookDeliveries(webhookId: $id, first: 10) { nodes { status attempts responseStatus durationMs responseBody eventType } } }`,
        { id },
        owner.token,
      ),
    );
    expect(page.webhookDeliveries.nodes).toHaveLength(3);
    expect(page.webhookDeliveries.nodes[0]).toMatchObject({
      status: 'SUCCEEDED',
      attempts: 1,
      responseStatus: 200,
      responseBody: 'ok',
      eventType: 'EMAIL_CLICK',
    });
    ok(await t.gql(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id }, owner.token));
  });

  it('writes nothing for a rolled-back change, and the named contact fields for a committed one', async () => {
    const { id } = await activeHook(t, owner, {
      url: rx.url,
      eventTypes: ['EMAIL_OPEN'],
      fields: ['email', 'firstName'],
    });
    const [contact] = await contactsOf(t, owner.accountId, 1);
    const client = await t.sql.connect();
    await client.query('begin');
    await client.query(
      `insert into contact_event (account_id, contact_id, type, occurred_at) values ($1, $2, 0, now())`,
      [owner.accountId, contact],
    );
    expect(
      (await client.query('select count(*)::int as n from webhook_delivery where webhook_id = $1', [id]))
        .rows[0].n,
    ).toBe(1);
    await client.query('rollback');
    client.release();
    expect(await deliveries(t, id)).toEqual([]);
    const before = rx.hits.length;
    await t.sql.query(
      `insert into contact_event (account_id, contact_id, type, occurred_at) values ($1, $2, 0, now())`,
      [owner.accountId, contact],
    );
    await waitUntil(() => rx.hits.length > before, 'the committed open');
    const body = JSON.parse(rx.hits[before].body);
    expect(body.data.contact).toEqual({
      id: contact,
      email: expect.stringMatching(/@example\.org$/),
      firstName: expect.stringMatching(/^Name/),
    });
    ok(await t.gql(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id }, owner.token));
  });

  it('forwards contact, score, bounce and operation changes, and sends nothing for types not asked', async () => {
    const { id } = await activeHook(t, owner, {
      url: rx.url,
      eventTypes: [
        'CONTACT_CREATED',
        'CONTACT_UPDATED',
        'CONTACT_DELETED',
        'SCORE_CHANGED',
        'BOUNCE_RECORDED',
        'OPERATION_STATUS_CHANGED',
      ],
    });
    const created = ok(
      await t.gql<{ createContact: { id: string } }, Record<string, unknown>>(
        `mutation($input: CreateContactInput!) { createContact(input: $input) { id } }`,
        { input: { email: 'hooked@example.org' } },
        owner.token,
      ),
    ).createContact.id;
    ok(
      await t.gql(
        `mutation($input: UpdateContactInput!) { updateContact(input: $input) { id } }`,
        { input: { id: created, firstName: 'Ada' } },
        owner.token,
      ),
    );
    const score = await t.sql.query<{ id: string }>(
      `insert into score (account_id, name) values ($1, 'hot') returning id`,
      [owner.accountId],
    );
    await t.sql.query(
      `insert into contact_score (score_id, contact_id, account_id, value) values ($1, $2, $3, 5)`,
      [score.rows[0].id, created, owner.accountId],
    );
    await t.sql.query(`update contact_score set value = 8 where score_id = $1`, [score.rows[0].id]);
    await t.sql.query(`update contact_score set value = 8 where score_id = $1`, [score.rows[0].id]);
    await t.sql.query(
      `insert into bounce (account_id, contact_id, recipient, received_at, reason, hard, type) values ($1, $2, 'hooked@example.org', now(), 'userunknown', true, 'DELIVERY_FAILED')`,
      [owner.accountId, created],
    );
    ok(await t.gql(`mutation($ids: [ID!]!) { deleteContacts(ids: $ids) }`, { ids: [created] }, owner.token));
    const op = await t.sql.query<{ id: string }>(
      `insert into operation (account_id, kind, name, audience, content, content_hash)
       values ($1, 'EMAILING', 'News', '{}', '{}', 'x') returning id`,
      [owner.accountId],
    );
    await t.sql.query(`update operation set status = 'PENDING_APPROVAL' where id = $1`, [op.rows[0].id]);
    await t.sql.query(`update operation set name = 'News 2' where id = $1`, [op.rows[0].id]);
    await waitUntil(
      async () => (await deliveries(t, id)).filter((d) => d.status === 'SUCCEEDED').length >= 7,
      'seven deliveries',
    );
    await sleep(500);
    const got = (await deliveries(t, id)).map((d) => [d.event_type, d.payload]);
    const types = got.map(([type]) => type);
    expect(types).toEqual(
      expect.arrayContaining([
        'contact.created',
        'contact.updated',
        'score.changed',
        'bounce.recorded',
        'contact.deleted',
      ]),
    );
    const updated = got.find(([type]) => type === 'contact.updated')?.[1] as Record<string, unknown>;
    expect(updated.changed).toContain('firstName');
    expect(updated).not.toHaveProperty('contact');
    const scores = got.filter(([type]) => type === 'score.changed').map(([, p]) => p);
    expect(scores).toEqual([
      { scoreId: score.rows[0].id, contactId: created, previous: 0, value: 5 },
      { scoreId: score.rows[0].id, contactId: created, previous: 5, value: 8 },
    ]);
    expect(got.filter(([type]) => type === 'operation.status_changed').map(([, p]) => p)).toEqual([
      {
        operationId: op.rows[0].id,
        kind: 'EMAILING',
        name: 'News',
        previousStatus: 'DRAFT',
        status: 'PENDING_APPROVAL',
      },
    ]);
    expect(got).toHaveLength(7);
    const bounce = got.find(([type]) => type === 'bounce.recorded')?.[1] as Record<string, unknown>;
    expect(bounce).toMatchObject({
      contactId: created,
      hard: true,
      reason: 'userunknown',
      type: 'DELIVERY_FAILED',
    });
    expect(JSON.stringify(got)).not.toContain('hooked@example.org');
    ok(await t.gql(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id }, owner.token));
  });

  it('during a rotation signs with both secrets for 24 hours; sendTestWebhook tries an inactive one once', async () => {
    const made = ok(
      await t.gql<{ createWebhook: { webhook: { id: string }; secret: string } }, Record<string, unknown>>(
        CREATE,
        { input: { name: 'rot', url: rx.urlFor('rot'), eventTypes: ['EMAIL_OPEN'] } },
        owner.token,
      ),
    ).createWebhook;
    const id = made.webhook.id;
    const test = ok(
      await t.gql<
        { sendTestWebhook: { status: string; responseStatus: number; eventType: string } },
        { id: string }
      >(
        `mutation($id: ID!) { sendTestWebhook(id: $id) { status responseStatus eventType } }`,
        { id },
        owner.token,
      ),
    );
    expect(test.sendTestWebhook).toEqual({ status: 'SUCCEEDED', responseStatus: 200, eventType: 'TEST' });
    const rotated = ok(
      await t.gql<
        { rotateWebhookSecret: { secret: string; webhook: { previousSecretUntil: string } } },
        { id: string }
      >(
        `mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret webhook { previousSecretUntil } } }`,
        { id },
        owner.token,
      ),
    ).rotateWebhookSecret;
    expect(rotated.secret).not.toBe(made.secret);
    expect(new Date(rotated.webhook.previousSecretUntil).getTime() - Date.now()).toBeGreaterThan(
      23.9 * 3_600_000,
    );
    ok(await t.gql(`mutation($id: ID!) { activateWebhook(id: $id) { id } }`, { id }, owner.token));
    const [contact] = await contactsOf(t, owner.accountId, 1);
    const before = rx.hitsOf('rot').length;
    await t.sql.query(
      `insert into contact_event (account_id, contact_id, type, occurred_at) values ($1, $2, 0, now())`,
      [owner.accountId, contact],
    );
    await waitUntil(() => rx.hitsOf('rot').length > before, 'the delivery');
    const h = rx.hitsOf('rot')[before];
    expect(h.signature.split(' ')).toHaveLength(2);
    expect(() => new Verifier(rotated.secret).verify(h.body, h.headers)).not.toThrow();
    expect(() => new Verifier(made.secret).verify(h.body, h.headers)).not.toThrow();
    ok(await t.gql(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id }, owner.token));
  });
});
