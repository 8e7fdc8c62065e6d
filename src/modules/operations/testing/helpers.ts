import type { Actor, GqlResult, TestApp } from '../../../../test/harness.js';

/** The fields every operations test reads back. */
export const OP_FIELDS = `id kind name status version validatedVersion rejectionReason scheduledAt
  createdBy { id } updatedBy { id } submittedBy { id } validatedBy { id } rejectedBy { id } cancelledBy { id }
  audience { segmentIds excludedSegmentIds allContacts }
  email { subject fromEmail html text textPart }
  sms { text senderId info { encoding characters parts } }`;

export interface Op {
  id: string;
  kind: 'EMAILING' | 'SMS';
  name: string;
  status: string;
  version: number;
  validatedVersion: number | null;
  rejectionReason: string | null;
  scheduledAt: string | null;
  createdBy: { id: string } | null;
  updatedBy: { id: string } | null;
  submittedBy: { id: string } | null;
  validatedBy: { id: string } | null;
  rejectedBy: { id: string } | null;
  cancelledBy: { id: string } | null;
  audience: { segmentIds: string[]; excludedSegmentIds: string[]; allContacts: boolean };
  email: {
    subject: string | null;
    fromEmail: string | null;
    html: string | null;
    text: string | null;
    textPart: string | null;
  } | null;
  sms: {
    text: string | null;
    senderId: string | null;
    info: { encoding: string; characters: number; parts: number };
  } | null;
}

type R = GqlResult<Record<string, Op>>;

export const FROM = 'news@acme.example';

/** A VERIFIED sender, written directly (the confirmation flow is the senders module's to test). */
export async function verifiedSender(t: TestApp, accountId: string, email = FROM): Promise<void> {
  await t.sql.query(
    `insert into sender (account_id, email, status, verified_at) values ($1, $2, 'VERIFIED', now())`,
    [accountId, email],
  );
}

export const ops = (t: TestApp) => ({
  create: (who: Actor, input: Record<string, unknown>): Promise<R> =>
    t.gql(
      `mutation($input: CreateOperationInput!) { createOperation(input: $input) { ${OP_FIELDS} } }`,
      { input },
      who.token,
    ),
  update: (who: Actor, input: Record<string, unknown>): Promise<R> =>
    t.gql(
      `mutation($input: UpdateOperationInput!) { updateOperation(input: $input) { ${OP_FIELDS} } }`,
      { input },
      who.token,
    ),
  step: (who: Actor, name: string, id: string, extra = ''): Promise<R> =>
    t.gql(`mutation($id: ID!) { ${name}(id: $id${extra}) { ${OP_FIELDS} } }`, { id }, who.token),
  get: (who: Actor, id: string): Promise<R> =>
    t.gql(`query($id: ID!) { operation(id: $id) { ${OP_FIELDS} } }`, { id }, who.token),
  remove: (who: Actor, ids: string[]) =>
    t.gql<{ deleteOperations: string[] }, { ids: string[] }>(
      'mutation($ids: [ID!]!) { deleteOperations(ids: $ids) }',
      { ids },
      who.token,
    ),
});

/** A complete Emailing input to all contacts. */
export const emailing = (name = 'Spring sale') => ({
  kind: 'EMAILING',
  name,
  audience: { allContacts: true },
  email: {
    subject: 'Hello {{ contact.firstName | default: "there" }}',
    fromEmail: FROM,
    html: '<p>Spring is <b>here</b></p>',
  },
});

export const smsOp = (name = 'Flash') => ({
  kind: 'SMS',
  name,
  audience: { allContacts: true },
  sms: { text: 'Flash sale today! STOP 36111', senderId: 'ACME' },
});

/**
 * An SMS operation to the account's contacts whose email contains `domain`: created through the
 * API, submitted, validated with scheduleNow, then waited for until the engine has SENT it
 * (SEND_DISPATCH_SECONDS=1 keeps that to a few seconds). Throws on FAILED or after 40 s.
 */
export async function sendSmsTo(t: TestApp, who: Actor, domain: string, name: string): Promise<string> {
  const segment = await t.gql<{ createSegment: { id: string } }, Record<string, unknown>>(
    'mutation($input: CreateSegmentInput!) { createSegment(input: $input) { id } }',
    {
      input: {
        name: `${domain} ${name}`,
        criterion: { field: { name: 'email', op: 'CONTAINS', value: domain } },
      },
    },
    who.token,
  );
  const o = ops(t);
  const created = await o.create(who, {
    ...smsOp(name),
    audience: { segmentIds: [segment.data?.createSegment.id] },
  });
  const id = created.data?.createOperation.id;
  if (!id) throw new Error(`createOperation: ${JSON.stringify(segment.errors ?? created.errors)}`);
  for (const [step, extra] of [
    ['submitOperation', ''],
    ['validateOperation', ', scheduleNow: true'],
  ]) {
    const r = await o.step(who, step, id, extra);
    if (r.errors?.length) throw new Error(`${step}: ${JSON.stringify(r.errors)}`);
  }
  for (const end = Date.now() + 40_000; ; ) {
    const { rows } = await t.sql.query('select status from operation where id = $1', [id]);
    if (rows[0].status === 'SENT') return id;
    if (rows[0].status === 'FAILED' || Date.now() > end)
      throw new Error(`operation ${id}: ${rows[0].status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
