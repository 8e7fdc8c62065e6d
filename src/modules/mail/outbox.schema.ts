import { builder } from '../../builder.js';
import { badInput } from '../../shared/errors.js';
import { isRowId } from '../../shared/ids.js';
import { connection, decodeCursor, pageSize, toPage } from '../../shared/pagination.js';

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
    createdAt: t.field({
      type: 'DateTime',
      description: 'When the mail was written',
      resolve: (m) => m.createdAt,
    }),
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
      const size = pageSize(args.first);
      const after = decodeCursor(args.after);
      // A bigint id: more digits than 18 overflowed PostgreSQL's bigint (a masked error).
      if (after !== null && !isRowId(after)) throw badInput('after: not a cursor returned by this API');
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
