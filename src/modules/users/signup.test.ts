import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignUpDocument } from '../../../test/generated/graphql.js';
import {
  type Actor,
  code,
  type GqlResult,
  PASSWORD,
  signUpOwner,
  startTestApp,
  type TestApp,
  uniqueEmail,
} from '../../../test/harness.js';
import { SIGNUP_LIMIT, setSignUpLimit, signUpKey } from './signup.throttle.js';

/**
 * signUp answers CONFLICT for a registered email (its answer is a session, which cannot be
 * pretended), so how often anyone may ask is bounded per client address.
 */
let t: TestApp;
let owner: Actor;
const MAX = 4;
beforeAll(async () => {
  t = await startTestApp({ TRUST_PROXY: 'loopback' });
  owner = await signUpOwner(t); // from 127.0.0.1, not from the addresses below
  setSignUpLimit({ max: MAX });
});
afterAll(async () => {
  setSignUpLimit(SIGNUP_LIMIT);
  await t.close();
});

async function signUpFrom(ip: string, email: string): Promise<GqlResult<unknown>> {
  const res = await fetch(t.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      'x-forwarded-for': ip,
    },
    body: JSON.stringify({
      query: print(SignUpDocument),
      variables: { input: { accountName: 'Probe', name: 'P', email, password: PASSWORD } },
    }),
  });
  return { ...((await res.json()) as object), status: res.status };
}

const accounts = async () => (await t.sql.query('select count(*)::int as n from account')).rows[0].n;

describe('signUp per client address', () => {
  it('answers RATE_LIMITED past the limit, however many ask at once, and creates nothing more', async () => {
    const before = await accounts();
    // Probes of a registered email in parallel, and new sign-ups, from one address.
    const answers = await Promise.all([
      ...Array.from({ length: 12 }, () => signUpFrom('203.0.113.7', owner.email)),
      signUpFrom('203.0.113.7', uniqueEmail('late')),
    ]);
    const codes = answers.map(code);
    expect(codes.filter((c) => c === 'CONFLICT' || c === null).length).toBe(MAX);
    expect(codes.filter((c) => c === 'RATE_LIMITED').length).toBe(answers.length - MAX);
    expect(await accounts()).toBe(before + codes.filter((c) => c === null).length);
    // Another address is not limited by it; a /64 counts as one address.
    expect(code(await signUpFrom('198.51.100.1', owner.email))).toBe('CONFLICT');
    for (let i = 0; i < MAX; i++) await signUpFrom(`2001:db8:1:2::${i + 1}`, owner.email);
    expect(code(await signUpFrom('2001:db8:1:2:ffff::9', owner.email))).toBe('RATE_LIMITED');
    expect(code(await signUpFrom('2001:db8:1:3::1', owner.email))).toBe('CONFLICT');
  });

  it('keys addresses so that no login can reach them', () => {
    expect(signUpKey('::ffff:10.1.2.3')).toBe('SIGNUP 10.1.2.3');
    expect(signUpKey('2001:db8:0:0:1::1')).toBe('SIGNUP 2001:db8:0:0::/64');
    expect(signUpKey('2001:DB8::')).toBe('SIGNUP 2001:db8:0:0::/64');
    expect(signUpKey(null)).toBe('SIGNUP unknown');
    expect(signUpKey('1.2.3.4')).not.toBe(signUpKey('1.2.3.4').toLowerCase());
  });
});
