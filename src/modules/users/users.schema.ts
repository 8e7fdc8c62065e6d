import { builder, need } from '../../builder.js';
import { connection } from '../../shared/pagination.js';
import { completeRights, FEATURES, ownerRights } from '../access/access.js';
import { RightInput, RightRef } from '../access/access.schema.js';
import { acceptInvitation, login, logout, signUp } from './auth.service.js';
import { USER_STATUSES, type UserRow } from './user.entity.js';
import {
  deleteUser,
  disableUser,
  enableUser,
  findUser,
  inviteUser,
  listUsers,
  resendInvitation,
  setUserRights,
  updateUser,
} from './users.service.js';

const UserStatusEnum = builder.enumType('UserStatus', {
  description: 'INVITED until the activation link is used; DISABLED users cannot log in.',
  values: USER_STATUSES.filter((s) => s !== 'DELETED'),
});

export const UserRef = builder.objectRef<UserRow>('User').implement({
  description: 'A login of the account, with one access level per feature.',
  fields: (t) => ({
    id: t.exposeID('id'),
    email: t.exposeString('email'),
    name: t.exposeString('name'),
    phone: t.exposeString('phone', { nullable: true }),
    status: t.field({
      type: UserStatusEnum,
      resolve: (u) => u.status as Exclude<typeof u.status, 'DELETED'>,
    }),
    isOwner: t.exposeBoolean('isOwner'),
    rights: t.field({
      type: [RightRef],
      description: 'One entry per feature; the owner is APPROVER everywhere.',
      resolve: (u) => {
        const rights = u.isOwner ? ownerRights() : completeRights(u.rights);
        return FEATURES.map((feature) => ({ feature, level: rights[feature] }));
      },
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (u) => u.createdAt }),
  }),
});

const AuthPayload = builder.objectRef<{ token: string; user: UserRow }>('AuthPayload').implement({
  description: 'A new session: send `Authorization: Bearer <token>` with every request.',
  fields: (t) => ({
    token: t.exposeString('token', { description: 'Opaque; valid 30 days or until logout' }),
    user: t.field({ type: UserRef, resolve: (p) => p.user }),
  }),
});

const UserConnection = connection('User', UserRef);

builder.queryField('me', (t) =>
  t.withAuth({ authenticated: true }).field({
    type: UserRef,
    description: 'The logged-in user.',
    resolve: (_r, _a, ctx) => findUser(ctx.em, ctx, ctx.viewer.userId),
  }),
);

builder.queryField('users', (t) =>
  t.withAuth(need('USERS', 'GUEST')).field({
    type: UserConnection,
    description: 'Users of the account (deleted ones excluded). At most 200 per page.',
    args: { first: t.arg.int({ required: false }), after: t.arg.string({ required: false }) },
    resolve: (_r, args, ctx) => listUsers(ctx, args.first, args.after),
  }),
);

builder.queryField('user', (t) =>
  t.withAuth(need('USERS', 'GUEST')).field({
    type: UserRef,
    nullable: true,
    description: 'One user of the account; NOT_FOUND for unknown ids, including other accounts’.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => findUser(ctx.em, ctx, String(args.id)),
  }),
);

const SignUpInput = builder.inputType('SignUpInput', {
  fields: (t) => ({
    accountName: t.string({ required: true, description: '1 to 200 characters' }),
    name: t.string({ required: true, description: '1 to 200 characters' }),
    email: t.string({ required: true }),
    password: t.string({ required: true, description: '10 to 200 characters' }),
  }),
});

builder.mutationField('signUp', (t) =>
  t.field({
    type: AuthPayload,
    description: 'Creates an account and its owner (public).',
    authScopes: { public: true },
    skipTypeScopes: true,
    args: { input: t.arg({ type: SignUpInput, required: true }) },
    resolve: (_r, { input }, ctx) => signUp(ctx, input),
  }),
);

const LoginInput = builder.inputType('LoginInput', {
  fields: (t) => ({ email: t.string({ required: true }), password: t.string({ required: true }) }),
});

builder.mutationField('login', (t) =>
  t.field({
    type: AuthPayload,
    description:
      'Opens a session (public). 5 failures in 15 minutes lock the email for 15 minutes (RATE_LIMITED).',
    authScopes: { public: true },
    skipTypeScopes: true,
    args: { input: t.arg({ type: LoginInput, required: true }) },
    resolve: (_r, { input }, ctx) => login(ctx, input),
  }),
);

builder.mutationField('logout', (t) =>
  t.withAuth({ authenticated: true }).boolean({
    description: 'Ends this session: its token stops working and its sockets close.',
    resolve: (_r, _a, ctx) => logout(ctx),
  }),
);

const AcceptInvitationInput = builder.inputType('AcceptInvitationInput', {
  fields: (t) => ({
    token: t.string({ required: true, description: 'From the invitation email' }),
    password: t.string({ required: true, description: '10 to 200 characters' }),
  }),
});

builder.mutationField('acceptInvitation', (t) =>
  t.field({
    type: AuthPayload,
    description: 'Chooses a password with a one-time invitation token and opens a session (public).',
    authScopes: { public: true },
    skipTypeScopes: true,
    args: { input: t.arg({ type: AcceptInvitationInput, required: true }) },
    resolve: (_r, { input }, ctx) => acceptInvitation(ctx, input),
  }),
);

const InviteUserInput = builder.inputType('InviteUserInput', {
  fields: (t) => ({
    email: t.string({ required: true }),
    name: t.string({ required: true }),
    phone: t.string({ required: false }),
    rights: t.field({ type: [RightInput], required: false, description: 'Features not listed are NONE' }),
  }),
});

builder.mutationField('inviteUser', (t) =>
  t.withAuth(need('USERS', 'APPROVER')).field({
    type: UserRef,
    description:
      'Creates an INVITED user and emails them a one-time link (7 days) to choose a password. No level above your own.',
    args: { input: t.arg({ type: InviteUserInput, required: true }) },
    resolve: (_r, { input }, ctx) => inviteUser(ctx, input),
  }),
);

builder.mutationField('resendInvitation', (t) =>
  t.withAuth(need('USERS', 'EDITOR')).field({
    type: UserRef,
    description: 'Emails a new invitation link to an INVITED user; earlier links stop working.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => resendInvitation(ctx, String(args.id)),
  }),
);

const UpdateUserInput = builder.inputType('UpdateUserInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ required: false }),
    email: t.string({ required: false }),
    phone: t.string({ required: false, description: 'null or "" clears it' }),
  }),
});

builder.mutationField('updateUser', (t) =>
  t.withAuth(need('USERS', 'EDITOR')).field({
    type: UserRef,
    description: "Changes a user's name, email or phone. Only the owner edits the owner.",
    args: { input: t.arg({ type: UpdateUserInput, required: true }) },
    resolve: (_r, { input }, ctx) => updateUser(ctx, { ...input, id: String(input.id) }),
  }),
);

const SetUserRightsInput = builder.inputType('SetUserRightsInput', {
  fields: (t) => ({
    userId: t.id({ required: true }),
    rights: t.field({
      type: [RightInput],
      required: true,
      description: 'Features not listed keep their level',
    }),
  }),
});

builder.mutationField('setUserRights', (t) =>
  t.withAuth(need('USERS', 'APPROVER')).field({
    type: UserRef,
    description: 'Changes access levels. Not your own, not the owner’s, never above your own level.',
    args: { input: t.arg({ type: SetUserRightsInput, required: true }) },
    resolve: (_r, { input }, ctx) =>
      setUserRights(ctx, { userId: String(input.userId), rights: input.rights }),
  }),
);

builder.mutationField('deleteUser', (t) =>
  t.withAuth(need('USERS', 'EDITOR')).id({
    description: 'Removes a user (not the owner, not yourself); their sessions and sockets end at once.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => (await deleteUser(ctx, String(args.id))).id,
  }),
);

builder.mutationField('disableUser', (t) =>
  t.withAuth(need('USERS', 'EDITOR')).field({
    type: UserRef,
    description:
      'Stops a user from logging in (not the owner, not yourself); sessions and sockets end at once.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => disableUser(ctx, String(args.id)),
  }),
);

builder.mutationField('enableUser', (t) =>
  t.withAuth(need('USERS', 'EDITOR')).field({
    type: UserRef,
    description: 'Lets a disabled user log in again.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => enableUser(ctx, String(args.id)),
  }),
);
