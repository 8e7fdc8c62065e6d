import { builder, need } from '../../builder.js';
import { colleagueOf, inUsers } from '../users/colleague.js';
import { UserRef } from '../users/users.schema.js';
import {
  addSender,
  listSenders,
  MAX_SENDER_NAME,
  MAX_SENDERS,
  removeSender,
  type SenderView,
  TOKEN_HOURS,
} from './sender.service.js';

const SenderStatusRef = builder.enumType('SenderStatus', {
  description: 'Whether the address proved it receives mail.',
  values: {
    PENDING: { description: 'Added; the confirmation link mailed to the address was not used yet' },
    VERIFIED: { description: 'Confirmed through the link: operations may use it as their from address' },
  } as const,
});

export const SenderRef = builder.objectRef<SenderView>('Sender').implement({
  description: 'An address the account may send operations from, once VERIFIED.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identity, also for client caches' }),
    email: t.exposeString('email', {
      description: 'The from address, lower-cased; unique in the account, at most 320 characters',
    }),
    name: t.exposeString('name', {
      nullable: true,
      description: `Display name shown with the address, at most ${MAX_SENDER_NAME} characters; null when none`,
    }),
    status: t.field({
      type: SenderStatusRef,
      description: 'PENDING until the link is used',
      resolve: (s) => s.status,
    }),
    createdBy: t.field({
      ...inUsers,
      type: UserRef,
      nullable: true,
      description: 'Who added it; null when that user is deleted, or when you have less than USERS >= GUEST',
      resolve: (s, _a, ctx) => colleagueOf(ctx, s.createdBy),
    }),
    createdAt: t.field({ type: 'DateTime', description: 'When it was added', resolve: (s) => s.createdAt }),
    verifiedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the link was used; null while PENDING',
      resolve: (s) => s.verifiedAt,
    }),
  }),
});

const AddSenderInput = builder.inputType('AddSenderInput', {
  description: 'An address to send from, and the name shown with it.',
  fields: (t) => ({
    email: t.string({
      required: true,
      description: 'The address, ASCII, at most 320 characters; CONFLICT when already VERIFIED',
    }),
    name: t.string({
      required: false,
      description: `Display name, at most ${MAX_SENDER_NAME} characters, no line breaks; kept when not given`,
    }),
  }),
});

builder.queryField('senders', (t) =>
  t.withAuth(need('SETTINGS', 'GUEST')).field({
    type: [SenderRef],
    description: `The account's senders by address, PENDING ones included (at most ${MAX_SENDERS}, so no pages).`,
    resolve: (_r, _a, ctx) => listSenders(ctx.em, ctx.viewer.accountId),
  }),
);

builder.mutationField('addSender', (t) =>
  t.withAuth(need('SETTINGS', 'EDITOR')).field({
    type: SenderRef,
    description: `Adds a PENDING sender and mails the address a one-time confirmation link (valid ${TOKEN_HOURS} hours). Adding a PENDING one again mails a fresh link and voids the earlier one; CONFLICT when it is already VERIFIED; BAD_USER_INPUT for a bad address or past ${MAX_SENDERS} senders.`,
    args: { input: t.arg({ type: AddSenderInput, required: true, description: 'The address and its name' }) },
    resolve: (_r, { input }, ctx) => addSender(ctx, { email: input.email, name: input.name }),
  }),
);

builder.mutationField('removeSender', (t) =>
  t.withAuth(need('SETTINGS', 'EDITOR')).id({
    description:
      "Removes a sender (its pending link stops working) and returns its id; NOT_FOUND for unknown ids, other accounts' included.",
    args: { id: t.arg.id({ required: true, description: 'The sender' }) },
    resolve: (_r, args, ctx) => removeSender(ctx, String(args.id)),
  }),
);
