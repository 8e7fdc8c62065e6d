import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AcceptInvitationDocument,
  DeleteUserDocument,
  DisableUserDocument,
  EnableUserDocument,
  InviteUserDocument,
  LoginDocument,
  LogoutDocument,
  MeDocument,
  OutboxDocument,
  ResendInvitationDocument,
  SetUserRightsDocument,
  SignUpDocument,
  UpdateUserDocument,
  UserDocument,
  UsersDocument,
  type UsersQuery,
} from '../../../test/generated/graphql.js';
import {
  type Actor,
  code,
  invitationTokenFor,
  ok,
  PASSWORD,
  signUpOwner,
  startTestApp,
  type TestApp,
  uniqueEmail,
  viewerWith,
} from '../../../test/harness.js';

let t: TestApp;
let owner: Actor;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
});
afterAll(() => t.close());

describe('signUp and login', () => {
  it('creates an account whose owner is APPROVER everywhere and can log in', async () => {
    const me = ok(await t.gql(MeDocument, {}, owner.token)).me;
    expect(me.isOwner).toBe(true);
    expect(me.status).toBe('ACTIVE');
    expect(me.rights.every((r) => r.level === 'APPROVER')).toBe(true);
    expect(me.rights).toHaveLength(8);
    const login = ok(
      await t.gql(LoginDocument, { input: { email: owner.email.toUpperCase(), password: PASSWORD } }),
    );
    expect(login.login.user.id).toBe(owner.userId);
    expect(login.login.token).not.toBe(owner.token);
  });

  it('stores the password with argon2id and the token only as a hash', async () => {
    const { rows } = await t.sql.query('select password_hash from app_user where id = $1', [owner.userId]);
    expect(rows[0].password_hash).toMatch(/^\$argon2id\$/);
    const tokens = await t.sql.query('select token_hash from session_token where user_id = $1', [
      owner.userId,
    ]);
    expect(tokens.rows.length).toBeGreaterThan(0);
    for (const r of tokens.rows) expect(r.token_hash).not.toContain(owner.token.slice(4, 20));
  });

  it('answers CONFLICT when a concurrent write takes the email after the check passed', async () => {
    const email = uniqueEmail('race');
    // Another transaction holds a not-yet-committed user with this email: signUp's check cannot
    // see it, so its insert waits on the unique index, then loses when that transaction commits.
    const other = await t.sql.connect();
    try {
      await other.query('begin');
      await other.query('create temp table twin on commit drop as select * from app_user where id = $1', [
        owner.userId,
      ]);
      await other.query('update twin set id = gen_random_uuid(), email = $1', [email]);
      await other.query('insert into app_user select * from twin');
      const signUp = t.gql(SignUpDocument, {
        input: { accountName: 'Race', name: 'R', email, password: PASSWORD },
      });
      await expect
        .poll(async () => {
          const { rows } = await t.sql.query(
            `select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query ilike '%app_user%'`,
          );
          return rows[0].n;
        })
        .toBeGreaterThan(0);
      await other.query('commit');
      const r = await signUp;
      expect(code(r)).toBe('CONFLICT');
      expect(r.errors?.[0]?.extensions?.field).toBe('email');
    } finally {
      other.release();
    }
  });

  it('refuses a taken email with CONFLICT and bad input with BAD_USER_INPUT', async () => {
    const taken = await t.gql(SignUpDocument, {
      input: { accountName: 'Other', name: 'X', email: owner.email, password: PASSWORD },
    });
    expect(code(taken)).toBe('CONFLICT');
    const weak = await t.gql(SignUpDocument, {
      input: { accountName: 'Other', name: 'X', email: uniqueEmail(), password: 'short' },
    });
    expect(code(weak)).toBe('BAD_USER_INPUT');
    const badEmail = await t.gql(SignUpDocument, {
      input: { accountName: 'Other', name: 'X', email: 'not-an-email', password: PASSWORD },
    });
    expect(code(badEmail)).toBe('BAD_USER_INPUT');
  });

  it('answers a wrong password with UNAUTHENTICATED, then RATE_LIMITED after five failures', async () => {
    const other = await signUpOwner(t, 'Locked');
    for (let i = 0; i < 5; i++) {
      const r = await t.gql(LoginDocument, { input: { email: other.email, password: 'wrong password!' } });
      expect(code(r)).toBe('UNAUTHENTICATED');
    }
    const locked = await t.gql(LoginDocument, { input: { email: other.email, password: PASSWORD } });
    expect(code(locked)).toBe('RATE_LIMITED');
    // Unknown emails are throttled the same way, so answers do not reveal who has an account.
    const ghost = uniqueEmail('ghost');
    for (let i = 0; i < 5; i++)
      await t.gql(LoginDocument, { input: { email: ghost, password: 'whatever-123' } });
    expect(code(await t.gql(LoginDocument, { input: { email: ghost, password: 'whatever-123' } }))).toBe(
      'RATE_LIMITED',
    );
  });

  it('checks at most five passwords however many logins arrive at once', async () => {
    const other = await signUpOwner(t, 'Parallel');
    const attempts = Array.from({ length: 30 }, (_, i) =>
      t.gql(LoginDocument, {
        input: { email: other.email, password: i === 29 ? PASSWORD : 'wrong password!' },
      }),
    );
    const codes = (await Promise.all(attempts)).map((r) => (r.errors ? code(r) : 'TOKEN'));
    const checked = codes.filter((c) => c !== 'RATE_LIMITED');
    expect(checked.length).toBeLessThanOrEqual(5);
    expect(codes.filter((c) => c === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(25);
    const { rows } = await t.sql.query(
      `select count(*)::int as n from security_event where kind = 'LOGIN_FAILED' and detail = $1`,
      [other.email],
    );
    expect(rows[0].n).toBe(checked.filter((c) => c === 'UNAUTHENTICATED').length);
  });

  it('logout revokes the token', async () => {
    const login = ok(await t.gql(LoginDocument, { input: { email: owner.email, password: PASSWORD } }));
    const token = login.login.token;
    expect(ok(await t.gql(LogoutDocument, {}, token)).logout).toBe(true);
    expect(code(await t.gql(MeDocument, {}, token))).toBe('UNAUTHENTICATED');
    expect(ok(await t.gql(MeDocument, {}, owner.token)).me.id).toBe(owner.userId);
  });
});

describe('invitations', () => {
  it('emails a one-time link to the local outbox, without any password', async () => {
    const email = uniqueEmail('invitee');
    const invited = ok(
      await t.gql(
        InviteUserDocument,
        {
          input: {
            email,
            name: 'Invitee',
            phone: '+33 6 12 34 56 78',
            rights: [{ feature: 'CONTACTS', level: 'EDITOR' }],
          },
        },
        owner.token,
      ),
    ).inviteUser;
    expect(invited.status).toBe('INVITED');
    expect(invited.phone).toBe('+33612345678');
    expect(invited.rights.find((r) => r.feature === 'CONTACTS')?.level).toBe('EDITOR');
    expect(invited.rights.find((r) => r.feature === 'USERS')?.level).toBe('NONE');

    const outbox = ok(await t.gql(OutboxDocument, { first: 10 }, owner.token)).outbox.nodes;
    const mail = outbox.find((m) => m.to === email);
    expect(mail?.subject).toMatch(/invited/i);
    expect(mail?.text).toContain('/accept-invitation?token=');
    expect(mail?.text.toLowerCase()).not.toContain('password:');

    // An invited user cannot log in before choosing a password.
    expect(code(await t.gql(LoginDocument, { input: { email, password: PASSWORD } }))).toBe(
      'UNAUTHENTICATED',
    );

    const token = await invitationTokenFor(t, email);
    const accepted = ok(
      await t.gql(AcceptInvitationDocument, { input: { token, password: PASSWORD } }),
    ).acceptInvitation;
    expect(accepted.user.status).toBe('ACTIVE');
    expect(ok(await t.gql(MeDocument, {}, accepted.token)).me.email).toBe(email);

    // Single use.
    const again = await t.gql(AcceptInvitationDocument, { input: { token, password: 'another password 1' } });
    expect(code(again)).toBe('BAD_USER_INPUT');
    ok(await t.gql(LoginDocument, { input: { email, password: PASSWORD } }));
  });

  it('refuses an expired link, and a resent invitation replaces the old link', async () => {
    const email = uniqueEmail('late');
    const invited = ok(
      await t.gql(InviteUserDocument, { input: { email, name: 'Late' } }, owner.token),
    ).inviteUser;
    const first = await invitationTokenFor(t, email);
    ok(await t.gql(ResendInvitationDocument, { id: invited.id }, owner.token));
    const second = await invitationTokenFor(t, email);
    expect(second).not.toBe(first);
    expect(code(await t.gql(AcceptInvitationDocument, { input: { token: first, password: PASSWORD } }))).toBe(
      'BAD_USER_INPUT',
    );
    await t.sql.query(`update invitation set expires_at = now() - interval '1 minute' where user_id = $1`, [
      invited.id,
    ]);
    expect(
      code(await t.gql(AcceptInvitationDocument, { input: { token: second, password: PASSWORD } })),
    ).toBe('BAD_USER_INPUT');
    const { rows } = await t.sql.query('select status from app_user where id = $1', [invited.id]);
    expect(rows[0].status).toBe('INVITED');
  });

  it('refuses to invite an email already in use', async () => {
    const r = await t.gql(InviteUserDocument, { input: { email: owner.email, name: 'Dup' } }, owner.token);
    expect(code(r)).toBe('CONFLICT');
  });
});

describe('rights rules', () => {
  it('nobody grants above their own level', async () => {
    const approver = await viewerWith(t, owner, { USERS: 'APPROVER', CONTACTS: 'EDITOR' });
    const tooHigh = await t.gql(
      InviteUserDocument,
      { input: { email: uniqueEmail(), name: 'X', rights: [{ feature: 'CONTACTS', level: 'APPROVER' }] } },
      approver.token,
    );
    expect(code(tooHigh)).toBe('FORBIDDEN');
    const fine = await t.gql(
      InviteUserDocument,
      { input: { email: uniqueEmail(), name: 'X', rights: [{ feature: 'CONTACTS', level: 'EDITOR' }] } },
      approver.token,
    );
    expect(fine.errors).toBeUndefined();

    const member = await viewerWith(t, owner, { CONTACTS: 'GUEST' });
    const raise = await t.gql(
      SetUserRightsDocument,
      { input: { userId: member.userId, rights: [{ feature: 'CONTACTS', level: 'APPROVER' }] } },
      approver.token,
    );
    expect(code(raise)).toBe('FORBIDDEN');
    const { rows } = await t.sql.query(`select rights->>'CONTACTS' as level from app_user where id = $1`, [
      member.userId,
    ]);
    expect(rows[0].level).toBe('GUEST');
  });

  it('nobody changes their own rights, and the owner cannot be demoted, deleted or disabled', async () => {
    const approver = await viewerWith(t, owner, { USERS: 'APPROVER' });
    const self = await t.gql(
      SetUserRightsDocument,
      { input: { userId: approver.userId, rights: [{ feature: 'USERS', level: 'GUEST' }] } },
      approver.token,
    );
    expect(code(self)).toBe('FORBIDDEN');
    const demote = await t.gql(
      SetUserRightsDocument,
      { input: { userId: owner.userId, rights: [{ feature: 'USERS', level: 'NONE' }] } },
      approver.token,
    );
    expect(code(demote)).toBe('FORBIDDEN');
    expect(code(await t.gql(DeleteUserDocument, { id: owner.userId }, approver.token))).toBe('FORBIDDEN');
    expect(code(await t.gql(DisableUserDocument, { id: owner.userId }, approver.token))).toBe('FORBIDDEN');
    expect(code(await t.gql(DeleteUserDocument, { id: owner.userId }, owner.token))).toBe('FORBIDDEN');
    expect(ok(await t.gql(MeDocument, {}, owner.token)).me.rights.every((r) => r.level === 'APPROVER')).toBe(
      true,
    );
  });

  it('setUserRights changes only the features given', async () => {
    const member = await viewerWith(t, owner, { CONTACTS: 'GUEST', SMS: 'EDITOR' });
    const after = ok(
      await t.gql(
        SetUserRightsDocument,
        { input: { userId: member.userId, rights: [{ feature: 'CONTACTS', level: 'APPROVER' }] } },
        owner.token,
      ),
    ).setUserRights;
    const level = (f: string) => after.rights.find((r) => r.feature === f)?.level;
    expect(level('CONTACTS')).toBe('APPROVER');
    expect(level('SMS')).toBe('EDITOR');
    expect(level('USERS')).toBe('NONE');
    // The new rights apply to the member's next request.
    const me = ok(await t.gql(MeDocument, {}, member.token)).me;
    expect(me.rights.find((r) => r.feature === 'CONTACTS')?.level).toBe('APPROVER');
  });
});

describe('users of one account only', () => {
  it("answers NOT_FOUND for another account's user and never lists them", async () => {
    const stranger = await signUpOwner(t, 'Elsewhere');
    expect(code(await t.gql(UserDocument, { id: stranger.userId }, owner.token))).toBe('NOT_FOUND');
    expect(code(await t.gql(UserDocument, { id: 'not-a-uuid' }, owner.token))).toBe('NOT_FOUND');
    expect(
      code(await t.gql(UpdateUserDocument, { input: { id: stranger.userId, name: 'Hijack' } }, owner.token)),
    ).toBe('NOT_FOUND');
    expect(code(await t.gql(DeleteUserDocument, { id: stranger.userId }, owner.token))).toBe('NOT_FOUND');
    const { rows } = await t.sql.query('select name, status from app_user where id = $1', [stranger.userId]);
    expect(rows[0]).toEqual({ name: 'Owner', status: 'ACTIVE' });
    const all: string[] = [];
    let after: string | null = null;
    do {
      const page: UsersQuery['users'] = ok(
        await t.gql(UsersDocument, { first: 2, after }, owner.token),
      ).users;
      all.push(...page.nodes.map((u) => u.id));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    expect(all).toContain(owner.userId);
    expect(all).not.toContain(stranger.userId);
    expect(new Set(all).size).toBe(all.length);
  });
});

describe('updating, disabling and deleting users', () => {
  it('updates details with validation and keeps emails unique', async () => {
    const member = await viewerWith(t, owner, {});
    const newEmail = uniqueEmail('renamed');
    const updated = ok(
      await t.gql(
        UpdateUserDocument,
        { input: { id: member.userId, name: 'Renamed', email: newEmail, phone: '' } },
        owner.token,
      ),
    ).updateUser;
    expect(updated).toMatchObject({ name: 'Renamed', email: newEmail, phone: null });
    expect(
      code(
        await t.gql(UpdateUserDocument, { input: { id: member.userId, email: owner.email } }, owner.token),
      ),
    ).toBe('CONFLICT');
    expect(
      code(await t.gql(UpdateUserDocument, { input: { id: member.userId, phone: 'call me' } }, owner.token)),
    ).toBe('BAD_USER_INPUT');
  });

  it('disabling ends sessions at once; enabling lets the user log in again', async () => {
    const member = await viewerWith(t, owner, { CONTACTS: 'GUEST' });
    ok(await t.gql(DisableUserDocument, { id: member.userId }, owner.token));
    expect(code(await t.gql(MeDocument, {}, member.token))).toBe('UNAUTHENTICATED');
    expect(code(await t.gql(LoginDocument, { input: { email: member.email, password: PASSWORD } }))).toBe(
      'UNAUTHENTICATED',
    );
    ok(await t.gql(EnableUserDocument, { id: member.userId }, owner.token));
    ok(await t.gql(LoginDocument, { input: { email: member.email, password: PASSWORD } }));
  });

  it('deleting revokes tokens, frees the email and hides the user', async () => {
    const member = await viewerWith(t, owner, { CONTACTS: 'GUEST' });
    expect(ok(await t.gql(DeleteUserDocument, { id: member.userId }, owner.token)).deleteUser).toBe(
      member.userId,
    );
    expect(code(await t.gql(MeDocument, {}, member.token))).toBe('UNAUTHENTICATED');
    expect(code(await t.gql(UserDocument, { id: member.userId }, owner.token))).toBe('NOT_FOUND');
    const { rows } = await t.sql.query(
      'select count(*)::int as n from session_token where user_id = $1 and revoked_at is null',
      [member.userId],
    );
    expect(rows[0].n).toBe(0);
    // The email can be invited again.
    ok(await t.gql(InviteUserDocument, { input: { email: member.email, name: 'Back' } }, owner.token));
  });
});

describe('nobody acts on a user with more rights', () => {
  it('a USERS EDITOR cannot act on a user whose level is above theirs in any feature', async () => {
    const editor = await viewerWith(t, owner, { USERS: 'EDITOR', CONTACTS: 'GUEST' });
    const stronger = await viewerWith(t, owner, { CONTACTS: 'EDITOR' });
    const invited = ok(
      await t.gql(
        InviteUserDocument,
        { input: { email: uniqueEmail(), name: 'Strong', rights: [{ feature: 'SMS', level: 'GUEST' }] } },
        owner.token,
      ),
    ).inviteUser;
    // setUserRights needs USERS APPROVER: an approver with less in CONTACTS, changing only USERS.
    const approver = await viewerWith(t, owner, { USERS: 'APPROVER', CONTACTS: 'GUEST' });
    const state = async (id: string) =>
      (await t.sql.query('select name, status, rights from app_user where id = $1', [id])).rows[0];
    const before = [await state(stronger.userId), await state(invited.id)];
    const outbox = async () => (await t.sql.query('select count(*)::int as n from outbox_message')).rows[0].n;
    const mails = await outbox();

    const calls = {
      updateUser: t.gql(
        UpdateUserDocument,
        { input: { id: stronger.userId, name: 'Renamed' } },
        editor.token,
      ),
      disableUser: t.gql(DisableUserDocument, { id: stronger.userId }, editor.token),
      deleteUser: t.gql(DeleteUserDocument, { id: stronger.userId }, editor.token),
      resendInvitation: t.gql(ResendInvitationDocument, { id: invited.id }, editor.token),
    };
    for (const [name, call] of Object.entries(calls))
      expect([name, code(await call)]).toEqual([name, 'FORBIDDEN']);
    ok(await t.gql(DisableUserDocument, { id: stronger.userId }, owner.token));
    expect(code(await t.gql(EnableUserDocument, { id: stronger.userId }, editor.token))).toBe('FORBIDDEN');
    ok(await t.gql(EnableUserDocument, { id: stronger.userId }, owner.token));

    const rights = await t.gql(
      SetUserRightsDocument,
      { input: { userId: stronger.userId, rights: [{ feature: 'USERS', level: 'GUEST' }] } },
      approver.token,
    );
    expect(code(rights)).toBe('FORBIDDEN');

    expect([await state(stronger.userId), await state(invited.id)]).toEqual(before);
    expect(await outbox()).toBe(mails);
  });

  it('acting on a user with equal or lower levels still works, and the owner acts on everyone', async () => {
    const editor = await viewerWith(t, owner, { USERS: 'EDITOR', CONTACTS: 'EDITOR' });
    const weaker = await viewerWith(t, owner, { CONTACTS: 'EDITOR' });
    ok(await t.gql(UpdateUserDocument, { input: { id: weaker.userId, name: 'Renamed' } }, editor.token));
    ok(await t.gql(DisableUserDocument, { id: weaker.userId }, editor.token));
    ok(await t.gql(EnableUserDocument, { id: weaker.userId }, editor.token));
    ok(await t.gql(DeleteUserDocument, { id: weaker.userId }, editor.token));
    const approver = await viewerWith(t, owner, { USERS: 'APPROVER', CONTACTS: 'APPROVER' });
    ok(
      await t.gql(
        SetUserRightsDocument,
        { input: { userId: editor.userId, rights: [{ feature: 'CONTACTS', level: 'GUEST' }] } },
        approver.token,
      ),
    );
    // The owner, with the same levels as an APPROVER everywhere, acts on them.
    ok(await t.gql(DeleteUserDocument, { id: approver.userId }, owner.token));
    // Nobody but the owner acts on the owner, even with every level.
    const peer = await viewerWith(t, owner, {
      USERS: 'APPROVER',
      CONTACTS: 'APPROVER',
    });
    expect(
      code(await t.gql(UpdateUserDocument, { input: { id: owner.userId, name: 'X' } }, peer.token)),
    ).toBe('FORBIDDEN');
  });
});

describe('emails over 320 characters', () => {
  const long = `${'a'.repeat(64)}@${'b'.repeat(300)}.com`;
  it('answer BAD_USER_INPUT in login, signUp and inviteUser', async () => {
    for (const email of [long, ` ${long.toUpperCase()} `, `${'x'.repeat(400)}`, `${'İ'.repeat(200)}@a.fr`]) {
      const login = await t.gql(LoginDocument, { input: { email, password: PASSWORD } });
      const signUp = await t.gql(SignUpDocument, {
        input: { accountName: 'Long', name: 'L', email, password: PASSWORD },
      });
      const invite = await t.gql(InviteUserDocument, { input: { email, name: 'L' } }, owner.token);
      expect([code(login), code(signUp), code(invite)]).toEqual([
        'BAD_USER_INPUT',
        'BAD_USER_INPUT',
        'BAD_USER_INPUT',
      ]);
    }
  });
});
