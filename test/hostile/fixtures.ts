import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  type Actor,
  type GqlError,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
  uniqueEmail,
  viewerWith,
} from '../harness.js';

/** The real objects of one account, by the kind of id that names them. */
export interface AccountObjects {
  owner: Actor;
  /** An ACTIVE member with rights (the one user-directed mutations aim at). */
  member: Actor;
  /** Invited, not yet accepted (resendInvitation needs one). */
  invitedId: string;
  contactId: string;
  contactEmail: string;
  scoreId: string;
  segmentId: string;
  /** A DRAFT Emailing to all contacts (the operation fields need one). */
  operationId: string;
  /** A PENDING sender (removeSender needs one). */
  senderId: string;
  importId: string;
  runId: string;
  bounceId: string;
  /** An INACTIVE webhook, and the test delivery it was sent (refused by a closed port). */
  webhookId: string;
  deliveryId: string;
  /** A PUBLISHED form asking for email (the unique key) and a consent, and its public name. */
  formId: string;
  formPublicId: string;
  /** An APPROVED purchase (the member asked, the owner approved) and its invoice. */
  purchaseId: string;
  invoiceId: string;
  /** Unique words written into this account's names, to find them in another account's answers. */
  markers: string[];
}

export interface Fixtures {
  t: TestApp;
  /** The attacker: its owner calls everything, at the highest level there is. */
  a: AccountObjects;
  /** The victim: its ids are what the attacker sends. */
  b: AccountObjects;
}

export const BOUNCE_DSN = readFileSync(
  new URL('../corpus/bounces/dev/bsd-lhost-postfix-14.eml', import.meta.url),
  'utf8',
);
const EVERYTHING = ['CONTACTS', 'USERS', 'SETTINGS', 'EMAILINGS', 'SMS', 'FORMS', 'INVOICES', 'WEBHOOKS'];

async function gqlOk<T = Record<string, { id: string }>>(
  t: TestApp,
  query: string,
  variables: Record<string, unknown>,
  token: string,
): Promise<T> {
  return ok(await t.gql<T, Record<string, unknown>>(query, variables, token));
}

/** One account with one object of every kind, each named with a marker of its own. */
async function populate(t: TestApp, label: string): Promise<AccountObjects> {
  const mark = `${label}secret${randomBytes(4).toString('hex')}`;
  const owner = await signUpOwner(t, `${mark}-account`);
  const member = await viewerWith(
    t,
    owner,
    Object.fromEntries(EVERYTHING.map((f) => [f, 'EDITOR'])) as Record<string, 'EDITOR'>,
  );
  const invited = await gqlOk<{ inviteUser: { id: string } }>(
    t,
    'mutation($input: InviteUserInput!) { inviteUser(input: $input) { id } }',
    { input: { email: uniqueEmail(`${mark}-invited`), name: `${mark} invited` } },
    owner.token,
  );
  for (const [name, type] of [
    ['note', 'TEXT'],
    ['born', 'DATE'],
    ['amount', 'NUMBER'],
  ])
    await gqlOk(
      t,
      'mutation($input: DefineContactFieldInput!) { defineContactField(input: $input) { id } }',
      { input: { name, type, label: `${mark} ${name}` } },
      owner.token,
    );
  const contactEmail = `kijitora.${mark}@example.com`.toLowerCase();
  const contact = await gqlOk<{ createContact: { id: string } }>(
    t,
    'mutation($input: CreateContactInput!) { createContact(input: $input) { id } }',
    {
      input: {
        email: contactEmail,
        firstName: `${mark}first`,
        lastName: `${mark}last`,
        city: `${mark}city`,
        fields: [{ name: 'note', value: `${mark}note` }],
      },
    },
    owner.token,
  );
  const score = await gqlOk<{ createScore: { id: string } }>(
    t,
    'mutation($input: CreateScoreInput!) { createScore(input: $input) { id } }',
    {
      input: {
        name: `${mark}score`,
        description: `${mark}description`,
        conditions: [{ mode: 'FIXED', value: '5', criterion: { field: { name: 'email', op: 'IS_SET' } } }],
      },
    },
    owner.token,
  );
  const segment = await gqlOk<{ createSegment: { id: string } }>(
    t,
    'mutation($input: CreateSegmentInput!) { createSegment(input: $input) { id } }',
    {
      input: {
        name: `${mark}segment`,
        description: `${mark}description`,
        criterion: { score: { scoreId: score.createScore.id, op: 'GT', value: '1' } },
      },
    },
    owner.token,
  );
  const operation = await gqlOk<{ createOperation: { id: string } }>(
    t,
    'mutation($input: CreateOperationInput!) { createOperation(input: $input) { id } }',
    {
      input: {
        kind: 'EMAILING',
        name: `${mark}operation`,
        audience: { segmentIds: [segment.createSegment.id] },
      },
    },
    owner.token,
  );
  const sender = await gqlOk<{ addSender: { id: string } }>(
    t,
    'mutation($input: AddSenderInput!) { addSender(input: $input) { id } }',
    { input: { email: uniqueEmail(`${mark}-sender`), name: `${mark}sender` } },
    owner.token,
  );
  const imported = await gqlOk<{ importContacts: { id: string } }>(
    t,
    'mutation($input: ImportContactsInput!) { importContacts(input: $input) { id } }',
    { input: { rows: [{ email: uniqueEmail(`${mark}-imported`), lastName: `${mark}imported` }] } },
    owner.token,
  );
  const run = await gqlOk<{ runScoreComputation: { id: string } }>(
    t,
    'mutation { runScoreComputation { id } }',
    {},
    owner.token,
  );
  // The run writes in the background: wait for its end, so it cannot change a later fingerprint.
  for (let i = 0; i < 1200; i++) {
    const { rows } = await t.sql.query('select status from score_run where id = $1', [
      run.runScoreComputation.id,
    ]);
    if (rows[0]?.status !== 'RUNNING') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  // A bounce of the contact (the bare SMTP reply names it). Classification runs in the worker pool
  // with a time limit that a loaded machine can pass: a refused bounce only leaves bounceId empty.
  const bounce = await t.gql<{ recordBounce: { id: string }[] }, Record<string, unknown>>(
    'mutation($input: RecordBounceInput!) { recordBounce(input: $input) { id } }',
    { input: { message: `550 5.1.1 <${contactEmail}>: Recipient address rejected: User unknown` } },
    owner.token,
  );
  const webhook = await gqlOk<{ createWebhook: { webhook: { id: string } } }>(
    t,
    'mutation($input: WebhookInput!) { createWebhook(input: $input) { webhook { id } } }',
    {
      input: {
        name: `${mark}webhook`,
        url: 'http://127.0.0.1:9/hooks',
        eventTypes: ['EMAIL_OPEN'],
        fields: ['email'],
      },
    },
    owner.token,
  );
  const delivery = await gqlOk<{ sendTestWebhook: { id: string } }>(
    t,
    'mutation($id: ID!) { sendTestWebhook(id: $id) { id } }',
    { id: webhook.createWebhook.webhook.id },
    owner.token,
  );
  const form = await gqlOk<{ createForm: { id: string; publicId: string } }>(
    t,
    'mutation($input: CreateFormInput!) { createForm(input: $input) { id publicId } }',
    {
      input: {
        kind: 'FORM',
        name: `${mark}form`,
        fields: [
          { key: 'email', kind: 'EMAIL', label: 'Email', required: true },
          { key: 'news', kind: 'CONSENT', label: `${mark} newsletter`, required: true },
        ],
      },
    },
    owner.token,
  );
  await gqlOk(
    t,
    'mutation($id: ID!) { publishForm(id: $id) { id } }',
    { id: form.createForm.id },
    owner.token,
  );
  await gqlOk(
    t,
    'mutation($input: UpdateBillingDetailsInput!) { updateBillingDetails(input: $input) { id } }',
    {
      input: {
        companyName: `${mark}company`,
        addressLines: [`${mark} street`],
        postcode: '75002',
        city: 'Paris',
        country: 'FR',
      },
    },
    owner.token,
  );
  const purchase = await gqlOk<{ requestCreditPurchase: { id: string } }>(
    t,
    'mutation { requestCreditPurchase(packId: "SMS_1K", quantity: 1) { id } }',
    {},
    member.token,
  );
  const approved = await gqlOk<{ approveCreditPurchase: { invoice: { id: string } } }>(
    t,
    'mutation($id: ID!) { approveCreditPurchase(id: $id) { invoice { id } } }',
    { id: purchase.requestCreditPurchase.id },
    owner.token,
  );
  return {
    owner,
    member,
    invitedId: invited.inviteUser.id,
    contactId: contact.createContact.id,
    contactEmail,
    scoreId: score.createScore.id,
    segmentId: segment.createSegment.id,
    operationId: operation.createOperation.id,
    senderId: sender.addSender.id,
    purchaseId: purchase.requestCreditPurchase.id,
    invoiceId: approved.approveCreditPurchase.invoice.id,
    importId: imported.importContacts.id,
    runId: run.runScoreComputation.id,
    bounceId: bounce.data?.recordBounce[0]?.id ?? '',
    webhookId: webhook.createWebhook.webhook.id,
    deliveryId: delivery.sendTestWebhook.id,
    formId: form.createForm.id,
    formPublicId: form.createForm.publicId,
    markers: [mark],
  };
}

export async function setUp(env: Record<string, string> = {}): Promise<Fixtures> {
  const t = await startTestApp(env);
  const a = await populate(t, 'a');
  const b = await populate(t, 'b');
  return { t, a, b };
}

/** Tables a refused call must not change: the security log, the login counters and Agenda's own
 * bookkeeping of its recurring jobs (it moves on its own clock) may. */
const UNWATCHED = ['security_event', 'login_throttle', 'mikro_orm_migrations', 'agenda_jobs'];

/**
 * A cheap picture of what is stored: per table its row count and the newest row version (xmin
 * moves on every insert and update), so an insert, a delete or an update anywhere shows. With
 * `accountId`, only that account's rows of the tables that have an account_id.
 */
/** The tables of a test database, read once: information_schema is slow to ask on every call. */
const tablesOf = new WeakMap<TestApp, Promise<{ table_name: string; scoped: boolean }[]>>();

export async function fingerprint(t: TestApp, accountId?: string): Promise<string> {
  let listed = tablesOf.get(t);
  if (!listed) {
    listed = t.sql
      .query<{ table_name: string; scoped: boolean }>(
        `select table_name, bool_or(column_name = 'account_id') as scoped
           from information_schema.columns
          where table_schema = 'public' and table_name <> all($1)
            and table_name in (select table_name from information_schema.tables
                                where table_schema = 'public' and table_type = 'BASE TABLE')
          group by table_name order by table_name`,
        [UNWATCHED],
      )
      .then((r) => r.rows);
    tablesOf.set(t, listed);
  }
  const tables = await listed;
  const chosen = accountId ? tables.filter((x) => x.scoped) : tables;
  const parts = chosen.map(
    (x) =>
      `select '${x.table_name}' as n, count(*)::text || ':' || coalesce(max(r.xmin::text::bigint), 0)::text as f from "${x.table_name}" r` +
      (accountId ? ' where r.account_id = $1' : ''),
  );
  const { rows } = await t.sql.query<{ n: string; f: string }>(
    parts.join(' union all '),
    accountId ? [accountId] : [],
  );
  return rows.map((r) => `${r.n}=${r.f}`).join(' ');
}

/** Which tables differ between two fingerprints. */
export function changedTables(before: string, after: string): string[] {
  const b = new Map(before.split(' ').map((p) => p.split('=') as [string, string]));
  return after
    .split(' ')
    .map((p) => p.split('=') as [string, string])
    .filter(([n, f]) => b.get(n) !== f)
    .map(([n]) => n);
}

/** The error codes of the API contract and of yoga's own refusals; anything else is a bug. */
export const CONTRACT_CODES = new Set([
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'CONFLICT',
  'FORBIDDEN',
  'UNAUTHENTICATED',
  'RATE_LIMITED',
  'TIMEOUT',
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
  'BAD_REQUEST',
  'REQUEST_ENTITY_TOO_LARGE',
  'PERSISTED_QUERY_NOT_FOUND',
  // yoga's own code for two operations without operationName, or one that names none.
  'OPERATION_RESOLUTION_FAILURE',
]);

const STACK = /\n\s+at .+:\d+:\d+|node_modules\/|file:\/\/\//;

/** What is wrong with one answer (status and body text), or [] when it is data or typed errors. */
export function judge(status: number, text: string): string[] {
  const problems: string[] = [];
  if (status >= 500) problems.push(`HTTP ${status}`);
  if (STACK.test(text)) problems.push('stack trace in the answer');
  let body: { errors?: GqlError[]; data?: unknown };
  try {
    body = JSON.parse(text);
  } catch {
    problems.push(`HTTP ${status}, not JSON: ${JSON.stringify(text.slice(0, 120))}`);
    if (text.includes('Unexpected error.')) problems.push('masked "Unexpected error."');
    return problems;
  }
  problems.push(...judgeErrors(body.errors));
  if (!body.errors?.length && body.data === undefined) problems.push('neither data nor errors');
  return problems;
}

export function judgeErrors(errors: readonly GqlError[] | undefined): string[] {
  const problems: string[] = [];
  for (const e of errors ?? []) {
    const code = e.extensions?.code;
    if (e.message === 'Unexpected error.' || code === 'INTERNAL_SERVER_ERROR')
      problems.push(`masked ${code ?? 'without code'}: ${JSON.stringify(e.message).slice(0, 160)}`);
    else if (typeof code !== 'string') problems.push(`no code: ${JSON.stringify(e.message).slice(0, 160)}`);
    else if (!CONTRACT_CODES.has(code))
      problems.push(`code ${code}: ${JSON.stringify(e.message).slice(0, 160)}`);
  }
  return problems;
}

/**
 * Account B's data in an answer to A: its markers and emails anywhere, and its ids when the
 * request did not carry them itself (an error naming the id it was given reveals nothing).
 */
export function leaksOf(b: AccountObjects, requestText: string, answerText: string): string[] {
  const ids = [
    b.owner.accountId,
    b.owner.userId,
    b.member.userId,
    b.invitedId,
    b.scoreId,
    b.segmentId,
    b.operationId,
    b.senderId,
    b.importId,
    b.runId,
  ];
  const words = [...b.markers, b.owner.email, b.member.email, b.contactEmail, ...ids];
  const lower = answerText.toLowerCase();
  const reqLower = requestText.toLowerCase();
  return words
    .filter((w) => w && lower.includes(w.toLowerCase()) && !reqLower.includes(w.toLowerCase()))
    .map((w) => `account B's ${w} in the answer`);
}
