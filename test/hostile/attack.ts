import type { GqlError } from '../harness.js';
import { changedTables, type Fixtures, fingerprint, judge, leaksOf } from './fixtures.js';
import { bodyOf, type HostileCase } from './generator.js';

export interface Answer {
  status: number;
  text: string;
}

/** POSTs a body to /graphql as account A's owner (or as given). */
export async function post(
  fx: Fixtures,
  body: string | Buffer,
  headers: Record<string, string> = {},
  token: string | null = fx.a.owner.token,
): Promise<Answer> {
  const res = await fetch(fx.t.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: body as BodyInit,
  });
  return { status: res.status, text: await res.text() };
}

/** The server still answers a trivial query (nothing hung, nothing crashed). */
export async function stillAnswers(fx: Fixtures): Promise<string[]> {
  try {
    const r = await post(fx, JSON.stringify({ query: '{ __typename }' }));
    return r.status === 200 && r.text.includes('"Query"')
      ? []
      : [`then { __typename } answered ${r.status} ${r.text.slice(0, 100)}`];
  } catch (e) {
    return [`then { __typename } failed: ${String(e)}`];
  }
}

let signUps = 0;

const hasErrors = (text: string) => {
  try {
    return ((JSON.parse(text) as { errors?: GqlError[] }).errors?.length ?? 0) > 0;
  } catch {
    return true;
  }
};

/**
 * One hostile call with every check of the suite: not 5xx, data or coded errors only, no stack,
 * nothing of account B in the answer, nothing of B changed, nothing written at all when a
 * mutation answered an error, and the server still answering afterwards.
 */
export async function attack(fx: Fixtures, c: HostileCase): Promise<string[]> {
  const { query, variables } = c.make(fx);
  const body = bodyOf(query, variables);
  const mutation = c.kind === 'mutation';
  const [before, bBefore] = mutation
    ? await Promise.all([fingerprint(fx.t), fingerprint(fx.t, fx.b.owner.accountId)])
    : ['', ''];
  let answer: Answer;
  // signUp attempts are counted per client address: each gets an address of its own (the walk's
  // app trusts loopback as its proxy), so the hostile value reaches the resolver, not the limit.
  const from: Record<string, string> =
    c.field === 'Mutation.signUp'
      ? { 'x-forwarded-for': `10.${(++signUps >> 8) & 255}.${signUps & 255}.1` }
      : {};
  try {
    answer = await post(fx, body, from);
  } catch (e) {
    return [`${c.field} ${c.where}: request failed: ${String(e)}`];
  }
  const problems = [...judge(answer.status, answer.text), ...leaksOf(fx.b, body, answer.text)];
  if (mutation) {
    const [after, bAfter] = await Promise.all([fingerprint(fx.t), fingerprint(fx.t, fx.b.owner.accountId)]);
    if (hasErrors(answer.text) && after !== before)
      problems.push(`answered an error but wrote to ${changedTables(before, after).join(', ')}`);
    if (bAfter !== bBefore) problems.push(`changed account B's ${changedTables(bBefore, bAfter).join(', ')}`);
  }
  problems.push(...(await stillAnswers(fx)));
  return problems.map((p) => `${c.field} ${c.where}: ${p}`);
}

/** Runs `f` over the items, `n` at a time, keeping their order in the results. */
export async function inParallel<T, R>(items: T[], n: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}
