import { builder, need } from '../../builder.js';
import { describedValues } from '../../shared/enum-values.js';
import { connection } from '../../shared/pagination.js';
import { completeRights, FEATURES, ownerRights } from '../access/access.js';
import { RightInput, RightRef } from '../access/access.schema.js';
import { acceptInvitation, login, logout, signUp } from './auth.service.js';
import { SIGNUP_LIMIT } from './signup.throttle.js';
import type { UserRow, UserStatus } from './user.entity.js';
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
  // DELETED users are never shown.
  values: describedValues(['INVITED', 'ACTIVE', 'DISABLED'] as const satisfies readonly UserStatus[], {
    INVITED: 'Invited; has not chosen a password with the invitation link yet',
    ACTIVE: 'Can log in',
    DISABLED: 'Cannot log in until enableUser; sessions ended when disabled',
  }),
});

export const UserRef = builder.objectRef<UserRow>('User').implement({
  description: 'A login of the account, with one access level per feature.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identity, also for client caches' }),
    email: t.exposeString('email', {
      description: 'Login email, lower-cased, at most 320 characters; unique among live users',
    }),
    name: t.exposeString('name', { description: 'Display name, 1 to 200 characters' }),
    phone: t.exposeString('phone', {
      nullable: true,
      description: 'Digits with an optional leading +, 6 to 15 digits; null when not given',
    }),
    status: t.field({
      type: UserStatusEnum,
      description: 'Whether the user can log in',
      resolve: (u) => u.status as Exclude<typeof u.status, 'DELETED'>,
    }),
    isOwner: t.exposeBoolean('isOwner', {
      description:
        'The account owner: APPROVER everywhere, cannot be deleted, disabled or demoted; one per account',
    }),
    rights: t.field({
      type: [RightRef],
      description: 'One entry per feature; the owner is APPROVER everywhere.',
      resolve: (u) => {
        const rights = u.isOwner ? ownerRights() : completeRights(u.rights);
        return FEATURES.map((feature) => ({ feature, level: rights[feature] }));
      },
    }),
    createdAt: t.field({
      type: 'DateTime',
      description: 'When the user signed up or was invited',
      resolve: (u) => u.createdAt,
    }),
  }),
});

const AuthPayload = builder.objectRef<{ token: string; user: UserRow }>('AuthPayload').implement({
  description:
    'A new session: send `Authorization: Bearer <token>` with every request. A one-off result, never read again, so it has no id (its user has one).',
  fields: (t) => ({
    token: t.exposeString('token', { description: 'Opaque; valid 30 days or until logout' }),
    user: t.field({ type: UserRef, description: 'The user now logged in', resolve: (p) => p.user }),
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
    args: {
      first: t.arg.int({ required: false, description: 'Users per page, 1 to 200, default 50' }),
      after: t.arg.string({
        required: false,
        description: 'The endCursor (or an edge cursor) of the previous page',
      }),
    },
    resolve: (_r, args, ctx) => listUsers(ctx, args.first, args.after),
  }),
);

builder.queryField('user', (t) =>
  t.withAuth(need('USERS', 'GUEST')).field({
    type: UserRef,
    nullable: true,
    description: 'One user of the account; NOT_FOUND for unknown ids, including other accounts’.',
    args: { id: t.arg.id({ required: true, description: 'The user' }) },
    resolve: (_r, args, ctx) => findUser(ctx.em, ctx, String(args.id)),
  }),
);

const SignUpInput = builder.inputType('SignUpInput', {
  description: 'A new account and its owner.',
  fields: (t) => ({
    accountName: t.string({ required: true, description: 'The account name, 1 to 200 characters' }),
    name: t.string({ required: true, description: "The owner's name, 1 to 200 characters" }),
    email: t.string({
      required: true,
      description: "The owner's login email, at most 320 characters; CONFLICT when already used",
    }),
    password: t.string({ required: true, description: '10 to 200 characters' }),
  }),
});

builder.mutationField('signUp', (t) =>
  t.field({
    type: AuthPayload,
    description: `Creates an account and its owner (public). CONFLICT when the email already has an account. At most ${SIGNUP_LIMIT.max} sign-ups per client address (IPv6: per /64) per ${SIGNUP_LIMIT.windowMinutes} minutes, then RATE_LIMITED.`,
    authScopes: { public: true },
    skipTypeScopes: true,
    args: { input: t.arg({ type: SignUpInput, required: true, description: 'The account and its owner' }) },
    resolve: (_r, { input }, ctx) => signUp(ctx, input),
  }),
);

const LoginInput = builder.inputType('LoginInput', {
  description: 'Credentials of an ACTIVE user.',
  fields: (t) => ({
    email: t.string({ required: true, description: 'The login email, any case, at most 320 characters' }),
    password: t.string({ required: true, description: 'The password' }),
  }),
});

builder.mutationField('login', (t) =>
  t.field({
    type: AuthPayload,
    description:
      'Opens a session (public). 5 failures in 15 minutes lock the email for 15 minutes (RATE_LIMITED).',
    authScopes: { public: true },
    skipTypeScopes: true,
    args: { input: t.arg({ type: LoginInput, required: true, description: 'The credentials' }) },
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
  description: 'The one-time token from the invitation mail and the password to choose.',
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
    args: {
      input: t.arg({ type: AcceptInvitationInput, required: true, description: 'The token and password' }),
    },
    resolve: (_r, { input }, ctx) => acceptInvitation(ctx, input),
  }),
);

const InviteUserInput = builder.inputType('InviteUserInput', {
  description: 'Who to invite and with which rights.',
  fields: (t) => ({
    email: t.string({
      required: true,
      description: 'Where the invitation goes, at most 320 characters; CONFLICT when already used',
    }),
    name: t.string({ required: true, description: 'Display name, 1 to 200 characters' }),
    phone: t.string({
      required: false,
      description:
        'Digits with an optional leading + (spaces, dots, dashes and brackets are dropped), 6 to 15 digits',
    }),
    rights: t.field({ type: [RightInput], required: false, description: 'Features not listed are NONE' }),
  }),
});

builder.mutationField('inviteUser', (t) =>
  t.withAuth(need('USERS', 'APPROVER')).field({
    type: UserRef,
    description:
      'Creates an INVITED user and emails them a one-time link (7 days) to choose a password. No level above your own.',
    args: { input: t.arg({ type: InviteUserInput, required: true, description: 'Who and which rights' }) },
    resolve: (_r, { input }, ctx) => inviteUser(ctx, input),
  }),
);

builder.mutationField('resendInvitation', (t) =>
  t.withAuth(need('USERS', 'EDITOR')).field({
    type: UserRef,
    description:
      'Emails a new invitation link to an INVITED user; earlier links stop working. CONFLICT when the user already accepted. FORBIDDEN when the user holds, in any feature, a level above yours (only the owner acts on the owner).',
    args: { id: t.arg.id({ required: true, description: 'The INVITED user' }) },
    resolve: (_r, args, ctx) => resendInvitation(ctx, String(args.id)),
  }),
);

const UpdateUserInput = builder.inputType('UpdateUserInput', {
  description: 'Only the fields given change.',
  fields: (t) => ({
    id: t.id({ required: true, description: 'The user to change' }),
    name: t.string({ required: false, description: 'Display name, 1 to 200 characters' }),
    email: t.string({
      required: false,
      description: 'Login email, at most 320 characters; CONFLICT when another user has it',
    }),
    phone: t.string({
      required: false,
      description: 'Digits with an optional leading +, 6 to 15 digits; null or "" clears it',
    }),
  }),
});

builder.mutationField('updateUser', (t) =>
  t.withAuth(need('USERS', 'EDITOR')).field({
    type: UserRef,
    description:
      "Changes a user's name, email or phone. Only the owner edits the owner. FORBIDDEN when the user holds, in any feature, a level above yours (only the owner acts on the owner).",
    args: {
      input: t.arg({ type: UpdateUserInput, required: true, description: 'The user and what changes' }),
    },
    resolve: (_r, { input }, ctx) => updateUser(ctx, { ...input, id: String(input.id) }),
  }),
);

const SetUserRightsInput = builder.inputType('SetUserRightsInput', {
  description: 'New levels for some features of one user.',
  fields: (t) => ({
    userId: t.id({ required: true, description: 'The user (not yourself, not the owner)' }),
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
    description:
      'Changes access levels. Not your own, not the owner’s, never above your own level. FORBIDDEN when the user holds, in any feature, a level above yours (only the owner acts on the owner).',
    args: {
      input: t.arg({ type: SetUserRightsInput, required: true, description: 'The user and the new levels' }),
    },
    resolve: (_r, { input }, ctx) =>
      setUserRights(ctx, { userId: String(input.userId), rights: input.rights }),
  }),
);

builder.mutationField('deleteUser', (t) =>
  t.withAuth(need('USERS', 'EDITOR')).id({
    description:
      'Removes a user (not the owner, not yourself); their sessions and sockets end at once. Returns the id deleted (evict it from a client cache). FORBIDDEN when the user holds, in any feature, a level above yours (only the owner acts on the owner).',
    args: { id: t.arg.id({ required: true, description: 'The user to delete' }) },
    resolve: async (_r, args, ctx) => (await deleteUser(ctx, String(args.id))).id,
  }),
);

builder.mutationField('disableUser', (t) =>
  t.withAuth(need('USERS', 'EDITOR')).field({
    type: UserRef,
    description:
      'Stops a user from logging in (not the owner, not yourself); sessions and sockets end at once. FORBIDDEN when the user holds, in any feature, a level above yours (only the owner acts on the owner).',
    args: { id: t.arg.id({ required: true, description: 'The user to disable' }) },
    resolve: (_r, args, ctx) => disableUser(ctx, String(args.id)),
  }),
);

builder.mutationField('enableUser', (t) =>
  t.withAuth(need('USERS', 'EDITOR')).field({
    type: UserRef,
    description:
      'Lets a disabled user log in again. FORBIDDEN when the user holds, in any feature, a level above yours (only the owner acts on the owner).',
    args: { id: t.arg.id({ required: true, description: 'The DISABLED user' }) },
    resolve: (_r, args, ctx) => enableUser(ctx, String(args.id)),
  }),
);
