import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSchema } from '../../src/schema.js';
import type { GqlError } from '../harness.js';
import { stillAnswers } from './attack.js';
import { changedTables, type Fixtures, fingerprint, judgeErrors, leaksOf, setUp } from './fixtures.js';
import { bodyOf, type HostileCase, hostileCases } from './generator.js';

/**
 * Issue 10, 9, for subscriptions: every argument of every subscription field attacked over
 * graphql-ws and over server-sent events, as account A's owner with account B's real ids. An
 * allowed subscription stays open without events: that is success; what it sends first (or the
 * error it ends with) must be typed and hold nothing of account B.
 */
const all = hostileCases(buildSchema());
const cases = all.filter((c) => c.kind === 'subscription');
const classes = [...new Set(cases.map((c) => c.cls))].sort();
/**
 * How long an open subscription is watched for a first message; longer with account B's ids,
 * where a first message (an import's or a run's current state) would be the leak itself.
 */
let WATCH_MS = 400;

let fx: Fixtures;
beforeAll(async () => {
  fx = await setUp();
});
afterAll(() => fx?.t.close());

/** What graphql-ws gave: messages, the errors it ended with, or how the socket closed. */
async function overWs(
  query: string,
  variables: Record<string, unknown>,
): Promise<{ text: string; problems: string[] }> {
  const client = fx.t.ws(fx.a.owner.token);
  const seen: unknown[] = [];
  const problems: string[] = [];
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        stop();
        resolve();
      }, WATCH_MS);
      const stop = client.subscribe(
        { query, variables },
        {
          next: (v) => {
            seen.push(v);
            problems.push(...judgeErrors((v as { errors?: GqlError[] }).errors));
          },
          error: (e) => {
            clearTimeout(timer);
            seen.push(e);
            if (Array.isArray(e)) problems.push(...judgeErrors(e as GqlError[]));
            else {
              const close = e as { code?: number; reason?: string };
              // 4400 is graphql-ws's refusal of a message; 1011 or 4500 an error on the server.
              if (close.code !== 4400)
                problems.push(`socket closed ${close.code} ${close.reason ?? String(e)}`);
            }
            resolve();
          },
          complete: () => {
            clearTimeout(timer);
            resolve();
          },
        },
      );
    });
  } finally {
    await client.dispose();
  }
  return { text: JSON.stringify(seen), problems };
}

/** The same over SSE: the first events within WATCH_MS, then the request is cut. */
async function overSse(body: string): Promise<{ text: string; problems: string[] }> {
  const abort = new AbortController();
  const problems: string[] = [];
  let text = '';
  const timer = setTimeout(() => abort.abort(), WATCH_MS);
  try {
    const res = await fetch(fx.t.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${fx.a.owner.token}`,
      },
      body,
      signal: abort.signal,
    });
    if (res.status >= 500) problems.push(`HTTP ${res.status}`);
    const reader = res.body?.getReader();
    const decoder = new TextDecoder();
    while (reader) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch (e) {
    if ((e as Error).name !== 'AbortError') problems.push(`request failed: ${String(e)}`);
  } finally {
    clearTimeout(timer);
  }
  for (const line of text.split('\n')) {
    if (!line.startsWith('data:') || line.length <= 6) continue;
    try {
      problems.push(...judgeErrors((JSON.parse(line.slice(5)) as { errors?: GqlError[] }).errors));
    } catch {
      problems.push(`event not JSON: ${line.slice(0, 100)}`);
    }
  }
  return { text, problems };
}

async function attackSubscription(c: HostileCase): Promise<string[]> {
  const { query, variables } = c.make(fx);
  const body = bodyOf(query, variables);
  const ws = await overWs(query, variables);
  const sse = await overSse(body);
  const problems = [
    ...ws.problems.map((p) => `ws: ${p}`),
    ...leaksOf(fx.b, body, ws.text).map((p) => `ws: ${p}`),
    ...sse.problems.map((p) => `sse: ${p}`),
    ...leaksOf(fx.b, body, sse.text).map((p) => `sse: ${p}`),
    ...(await stillAnswers(fx)),
  ];
  return problems.map((p) => `${c.field} ${c.where}: ${p}`);
}

describe('hostile arguments on every subscription, over graphql-ws and SSE', () => {
  it('generates cases for every subscription field with arguments', () => {
    const fields = new Set(cases.map((c) => c.field));
    expect([...fields].sort()).toEqual([
      'Subscription.formSubmitted',
      'Subscription.importProgress',
      'Subscription.operationProgress',
      'Subscription.operationStatsUpdated',
      'Subscription.scoreRunProgress',
      'Subscription.scoreUpdated',
    ]);
  });

  for (const cls of classes)
    it(`${cls}: typed errors or silence, nothing of account B`, async () => {
      const failures: string[] = [];
      WATCH_MS = cls === 'id.other-account' ? 1500 : 400;
      for (const c of cases.filter((x) => x.cls === cls)) failures.push(...(await attackSubscription(c)));
      expect(failures).toEqual([]);
    });

  it('queries and mutations with hostile values over graphql-ws answer coded errors and write nothing when refused', async () => {
    const overWsClasses = [
      'string.nul',
      'string.lone-surrogate',
      'int.2^31',
      'id.other-account',
      'datetime.year-0',
    ];
    const failures: string[] = [];
    // A query or mutation completes: wait for it, so no late write lands in the next fingerprint.
    WATCH_MS = 10_000;
    for (const c of all.filter((x) => x.kind !== 'subscription' && overWsClasses.includes(x.cls))) {
      const { query, variables } = c.make(fx);
      const before = c.kind === 'mutation' ? await fingerprint(fx.t) : '';
      const ws = await overWs(query, variables);
      const problems = [...ws.problems, ...leaksOf(fx.b, JSON.stringify(variables), ws.text)];
      if (c.kind === 'mutation' && ws.text.includes('"errors"') && !ws.text.includes('"data":{')) {
        const after = await fingerprint(fx.t);
        if (after !== before)
          problems.push(`refused but wrote to ${changedTables(before, after).join(', ')}`);
      }
      failures.push(...problems.map((p) => `${c.cls} ${c.field} ${c.where}: ${p}`));
    }
    expect(failures).toEqual([]);
  }, 240_000);
});
