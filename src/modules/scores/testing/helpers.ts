import {
  CreateContactDocument,
  type CreateContactMutationVariables,
  RecordEventsDocument,
  type RecordEventsMutationVariables,
  RunScoreComputationDocument,
  ScoreRunDocument,
  type ScoreRunFieldsFragment,
} from '../../../../test/generated/graphql.js';
import { type Actor, ok, type TestApp } from '../../../../test/harness.js';

/** Exact decimal arithmetic for expected values: BigInt scaled by 10^6, no float anywhere. */
const SCALE = 1_000_000n;
export function dec(s: string): bigint {
  const neg = s.startsWith('-');
  const [i, f = ''] = s.replace('-', '').split('.');
  const v = BigInt(i) * SCALE + BigInt(`${f}000000`.slice(0, 6));
  return neg ? -v : v;
}
export function str(v: bigint): string {
  const neg = v < 0n;
  const a = neg ? -v : v;
  const frac = (a % SCALE).toString().padStart(6, '0').replace(/0+$/, '');
  const out = `${a / SCALE}${frac ? `.${frac}` : ''}`;
  return neg && out !== '0' ? `-${out}` : out;
}
export const mul = (a: bigint, b: bigint) => (a * b) / SCALE;
export const sum = (...xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);

export async function contact(t: TestApp, who: Actor, input: CreateContactMutationVariables['input']) {
  return ok(await t.gql(CreateContactDocument, { input }, who.token)).createContact.id;
}

export async function events(t: TestApp, who: Actor, list: RecordEventsMutationVariables['events']) {
  return ok(await t.gql(RecordEventsDocument, { events: list }, who.token)).recordEvents;
}

/** Launches a run and waits until it is DONE or FAILED (polling scoreRun). */
export async function runAndWait(t: TestApp, who: Actor): Promise<ScoreRunFieldsFragment> {
  const run = ok(await t.gql(RunScoreComputationDocument, {}, who.token)).runScoreComputation;
  return waitRun(t, who, run.id);
}

export async function waitRun(t: TestApp, who: Actor, id: string): Promise<ScoreRunFieldsFragment> {
  for (let i = 0; i < 600; i++) {
    const r = ok(await t.gql(ScoreRunDocument, { id }, who.token)).scoreRun;
    if (r && r.status !== 'RUNNING') return r;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`run ${id} did not finish`);
}

/** Every stored value of the account's scores: { "<scoreId>/<contactId>": "value" }. */
export async function storedScores(t: TestApp, accountScoreIds: string[]): Promise<Record<string, string>> {
  const { rows } = await t.sql.query<{ k: string; v: string }>(
    `select score_id || '/' || contact_id as k, trim_scale(value)::text as v from contact_score
      where score_id = any($1::uuid[]) order by 1`,
    [accountScoreIds],
  );
  return Object.fromEntries(rows.map((r) => [r.k, r.v]));
}
