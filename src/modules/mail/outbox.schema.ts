import { builder } from '../../builder.js';
import { badInput } from '../../shared/errors.js';
import { isRowId } from '../../shared/ids.js';
import { connection, decodeCursor, pageSize, toPage } from '../../shared/pagination.js';

/** The page size and the id a page starts after (both lists are keyed by bigint ids). */
function pageOf(args: { first?: number | null; after?: string | null }) {
  const size = pageSize(args.first);
  const after = decodeCursor(args.after);
  // A bigint id: more digits than 18 overflowed PostgreSQL's bigint (a masked error).
  if (after !== null && !isRowId(after)) throw badInput('after: not a cursor returned by this API');
  return { size, after };
}

interface OutboxRow {
  id: string;
  to: string;
  subject: string;
  text: string;
  createdAt: Date;
}

const OutboxMessageRef = builder.objectRef<OutboxRow>('OutboxMessage').implement({
  description: 'A mail kept in the local outbox because no SMTP_URL is configured.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Increasing with time: a later mail has a larger id' }),
    to: t.exposeString('to', { description: 'The recipient address' }),
    subject: t.exposeString('subject', { description: 'The subject line' }),
    text: t.exposeString('text', { description: 'The plain-text body, as it would have been sent' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the mail was written' }),
  }),
});

builder.queryField('outbox', (t) =>
  t.withAuth({ owner: true }).field({
    type: connection('OutboxMessage', OutboxMessageRef),
    description: "The account's local outbox, newest first (owner only). Empty when mail goes to SMTP_URL.",
    args: {
      first: t.arg.int({ required: false, description: 'Mails per page, 1 to 200, default 50' }),
      after: t.arg.string({
        required: false,
        description: 'The endCursor (or an edge cursor) of the previous page',
      }),
    },
    resolve: async (_root, args, ctx) => {
      const { size, after } = pageOf(args);
      const rows = await ctx.em.getConnection().execute<Record<string, unknown>[]>(
        `select id, "to", subject, text, created_at from outbox_message
          where account_id = ? ${after ? 'and id < ?' : ''} order by id desc limit ?`,
        after ? [ctx.viewer.accountId, after, size + 1] : [ctx.viewer.accountId, size + 1],
      );
      const nodes = rows.map((r) => ({
        id: String(r.id),
        to: r.to as string,
        subject: r.subject as string,
        text: r.text as string,
        createdAt: new Date(r.created_at as string),
      }));
      return toPage(nodes, size, (m) => m.id);
    },
  }),
);

interface QueuedRow {
  id: string;
  to: string;
  subject: string;
  status: 'PENDING' | 'SENT' | 'FAILED';
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  sentAt: Date | null;
}

const MailStatus = builder.enumType('QueuedMailStatus', {
  description: 'Where a queued workflow mail stands',
  values: {
    PENDING: {
      description: 'Not sent yet: waiting for its first attempt or, after a temporary failure, the next',
    },
    SENT: { description: 'Accepted by the SMTP server' },
    FAILED: { description: 'Refused for good (a 5xx answer), or still failing after about two days' },
  } as const,
});

const QueuedMailRef = builder.objectRef<QueuedRow>('QueuedMail').implement({
  description:
    'A workflow mail (invitation, validation request, confirmation, alert) queued for SMTP_URL. Its text is not shown: it may hold a one-time link.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Increasing with time: a later mail has a larger id' }),
    to: t.exposeString('to', { description: 'The recipient address' }),
    subject: t.exposeString('subject', { description: 'The subject line' }),
    status: t.field({ type: MailStatus, description: 'Where it stands', resolve: (m) => m.status }),
    attempts: t.exposeInt('attempts', { description: 'Attempts made so far' }),
    lastError: t.exposeString('lastError', {
      nullable: true,
      description: "The SMTP server's answer (or the error) at the last failed attempt",
    }),
    createdAt: t.expose('createdAt', {
      type: 'DateTime',
      description: 'When the change that caused it committed',
    }),
    sentAt: t.expose('sentAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the SMTP server accepted it',
    }),
  }),
});

builder.queryField('mailQueue', (t) =>
  t.withAuth({ owner: true }).field({
    type: connection('QueuedMail', QueuedMailRef),
    description:
      "The account's workflow mails queued for SMTP_URL, newest first (owner only): whether each went out, and why not. Empty without SMTP_URL (see outbox). Sent mails are kept 7 days.",
    args: {
      status: t.arg({ type: MailStatus, required: false, description: 'Only the mails in this status' }),
      first: t.arg.int({ required: false, description: 'Mails per page, 1 to 200, default 50' }),
      after: t.arg.string({
        required: false,
        description: 'The endCursor (or an edge cursor) of the previous page',
      }),
    },
    resolve: async (_root, args, ctx) => {
      const { size, after } = pageOf(args);
      const rows = await ctx.em.getConnection().execute<Record<string, unknown>[]>(
        `select id, "to", subject, status, attempts, last_error, created_at, sent_at from mail_queue
          where account_id = ? and (?::text is null or status = ?) ${after ? 'and id < ?' : ''}
          order by id desc limit ?`,
        [ctx.viewer.accountId, args.status ?? null, args.status ?? null, ...(after ? [after] : []), size + 1],
      );
      const nodes = rows.map((r) => ({
        id: String(r.id),
        to: r.to as string,
        subject: r.subject as string,
        status: r.status as QueuedRow['status'],
        attempts: Number(r.attempts),
        lastError: (r.last_error as string | null) ?? null,
        createdAt: new Date(r.created_at as string),
        sentAt: r.sent_at ? new Date(r.sent_at as string) : null,
      }));
      return toPage(nodes, size, (m) => m.id);
    },
  }),
);
