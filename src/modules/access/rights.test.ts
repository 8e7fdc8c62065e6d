import { GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Actor,
  code,
  type GqlError,
  signUpOwner,
  startTestApp,
  type TestApp,
  viewerWith,
} from '../../../test/harness.js';
import { rootFields } from '../../../test/schema-walk.js';
import { buildSchema } from '../../schema.js';
import { ACCESS_LEVELS, type AccessLevel, FEATURES, type Feature, levelRank } from './access.js';
import {
  assertEveryRootFieldScoped,
  assertScopedDataFields,
  objectFieldScopes,
  rootFieldScopes,
  SCOPED_DATA_FIELDS,
} from './scope-map.js';

type Scopes = {
  public?: boolean;
  authenticated?: boolean;
  owner?: boolean;
  feature?: [Feature, AccessLevel];
  /** At least that level in one of the features (an operation's kind picks which, in the service). */
  someFeature?: [Feature[], AccessLevel];
  /** Every scope inside holds (a field showing another feature's data: an operation's preview). */
  $all?: Scopes;
};

/** The scopes a field needs all of: `$all`'s, or the map itself when it has a single key. */
const required = (s: Scopes): Scopes => s.$all ?? s;

function describeScopes(s: Scopes | null): string {
  if (!s) return 'NONE DECLARED';
  return Object.entries(s)
    .map(([k, v]) => {
      if (k === 'feature') return `${(v as string[])[0]} >= ${(v as string[])[1]}`;
      if (k === 'someFeature') {
        const [features, level] = v as [Feature[], AccessLevel];
        return `one of ${features.join(', ')} >= ${level}`;
      }
      if (k === '$all') return `all of (${describeScopes(v as Scopes).replace(/ or /g, ' and ')})`;
      return k;
    })
    .join(' or ');
}

const schema = buildSchema();
const scopes = rootFieldScopes(schema) as Record<string, Scopes | null>;
const fields = rootFields(schema);

describe('every root field declares who may call it', () => {
  it('has a declared scope on every Query, Mutation and Subscription field', () => {
    const missing = Object.entries(scopes).filter(([, s]) => s === null);
    expect(missing).toEqual([]);
    expect(Object.keys(scopes).length).toBeGreaterThan(15);
  });

  it('the check fails on a field without one', () => {
    const bare = new GraphQLSchema({
      query: new GraphQLObjectType({ name: 'Query', fields: { leak: { type: GraphQLString } } }),
    });
    expect(() => assertEveryRootFieldScoped(bare)).toThrow(/Query.leak/);
  });

  it('matches the reviewed snapshot of rights (a diff here is a change of rights)', async () => {
    const lines = Object.entries(scopes)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, s]) => `${name.padEnd(36)} ${describeScopes(s)}`);
    await expect(`${lines.join('\n')}\n`).toMatchFileSnapshot('./__snapshots__/root-field-scopes.txt');
  });
});

describe("object fields that hold another feature's data declare who may read them", () => {
  const objectScopes = objectFieldScopes(schema) as Record<string, Scopes>;

  it("has a declared scope on every listed data field (the history entry's diff, changes, objectId)", () => {
    for (const name of SCOPED_DATA_FIELDS) expect(objectScopes[name], name).toBeTruthy();
  });

  it('the check fails on a data field without one', () => {
    const bare = new GraphQLSchema({
      query: new GraphQLObjectType({
        name: 'Query',
        fields: {
          entry: {
            type: new GraphQLObjectType({ name: 'AuditEntry', fields: { diff: { type: GraphQLString } } }),
          },
        },
      }),
    });
    expect(() => assertScopedDataFields(bare)).toThrow(/AuditEntry.diff/);
    expect(() => assertScopedDataFields(bare, [])).not.toThrow();
  });

  it('matches the reviewed snapshot of object field scopes', async () => {
    const lines = Object.entries(objectScopes)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, s]) => `${name.padEnd(36)} ${describeScopes(s)}`);
    await expect(`${lines.join('\n')}\n`).toMatchFileSnapshot('./__snapshots__/object-field-scopes.txt');
  });
});

/** A fingerprint of every table a denied call could touch (the security log excepted). */
async function fingerprint(t: TestApp): Promise<string> {
  const { rows } = await t.sql.query(
    `select table_name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE'
        and table_name not in ('security_event', 'login_throttle', 'mikro_orm_migrations')
      order by table_name`,
  );
  const parts: string[] = [];
  for (const { table_name } of rows) {
    // Agenda's own bookkeeping (lock and run times of the periodic score job) moves by itself
    // during a long run; a job a denied call enqueued would still change its names and data.
    const row = table_name === 'agenda_jobs' ? '(x.name, x.data)::text' : 'x::text';
    const r = await t.sql.query(
      `select count(*) as n, md5(coalesce(string_agg(${row}, '|' order by ${row}), '')) as h from "${table_name}" x`,
    );
    parts.push(`${table_name}:${r.rows[0].n}:${r.rows[0].h}`);
  }
  return parts.join('\n');
}

const deniedCodes = ['FORBIDDEN', 'UNAUTHENTICATED'];

describe('rights matrix: every operation at every level', () => {
  let t: TestApp;
  let owner: Actor;
  const actors = new Map<string, Actor>();

  /** One user per rights combination, made through the real invitation flow. */
  async function actor(rights: Partial<Record<Feature, AccessLevel>>): Promise<Actor> {
    const key = JSON.stringify(rights);
    let a = actors.get(key);
    if (!a) {
      a = await viewerWith(t, owner, rights);
      actors.set(key, a);
    }
    return a;
  }
  const allBut = (f: Feature, level: AccessLevel) =>
    Object.fromEntries(FEATURES.map((x) => [x, x === f ? level : 'APPROVER'])) as Record<
      Feature,
      AccessLevel
    >;
  const everywhere = (level: AccessLevel) =>
    Object.fromEntries(FEATURES.map((x) => [x, level])) as Record<Feature, AccessLevel>;

  async function call(
    kind: string,
    op: string,
    token: string | null,
  ): Promise<{ errors?: GqlError[]; data?: unknown }> {
    if (kind !== 'subscription') return t.gql(op, {}, token);
    const client = t.ws(token);
    try {
      return await new Promise((resolve) => {
        const stop = client.subscribe(
          { query: op },
          {
            next: (v) => {
              stop();
              resolve(v as { errors?: GqlError[] });
            },
            error: (e) => resolve({ errors: Array.isArray(e) ? e : [{ message: String(e) }] }),
            complete: () => resolve({}),
          },
        );
        // An allowed subscription stays open without events: that is success.
        setTimeout(() => {
          stop();
          resolve({});
        }, 300);
      });
    } finally {
      await client.dispose();
    }
  }

  beforeAll(async () => {
    t = await startTestApp();
    owner = await signUpOwner(t);
  });
  afterAll(() => t.close());

  it('denies anonymous and under-levelled callers, and writes nothing when it does', async () => {
    const denied: string[] = [];
    // Make every actor first: making them writes, the denied calls must not.
    const plans: { name: string; kind: string; op: string; who: Actor | null; expect: string }[] = [];
    const noneUser = await actor(everywhere('NONE'));
    const approverNotOwner = await actor(everywhere('APPROVER'));
    for (const f of fields) {
      const declared = scopes[f.name];
      if (!declared || declared.public) continue;
      // With $all, each scope inside is tested alone: below it (APPROVER elsewhere) refuses.
      const s = required(declared);
      plans.push({ ...f, who: null, expect: 'UNAUTHENTICATED' });
      if (s.owner) {
        plans.push({ ...f, who: noneUser, expect: 'FORBIDDEN' });
        plans.push({ ...f, who: approverNotOwner, expect: 'FORBIDDEN' });
      }
      if (s.feature) {
        const [feature, level] = s.feature;
        for (const lower of ACCESS_LEVELS.filter((l) => levelRank(l) < levelRank(level))) {
          plans.push({ ...f, who: await actor(allBut(feature, lower)), expect: 'FORBIDDEN' });
        }
      }
      if (s.someFeature) {
        // Below the level in every one of the features (APPROVER elsewhere): the scope refuses.
        const [features, level] = s.someFeature;
        for (const lower of ACCESS_LEVELS.filter((l) => levelRank(l) < levelRank(level))) {
          const rights = everywhere('APPROVER');
          for (const x of features) rights[x] = lower;
          plans.push({ ...f, who: await actor(rights), expect: 'FORBIDDEN' });
        }
      }
    }
    const before = await fingerprint(t);
    for (const p of plans) {
      const r = await call(p.kind, p.op, p.who?.token ?? null);
      const got = code(r as never);
      if (got !== p.expect)
        denied.push(
          `${p.name} as ${p.who ? p.who.email : 'anonymous'}: expected ${p.expect}, got ${got} ${JSON.stringify(r.errors ?? r.data)}`,
        );
      else if (r.data && Object.values(r.data as object).some((v) => v !== null))
        denied.push(`${p.name}: data leaked ${JSON.stringify(r.data)}`);
    }
    expect(denied).toEqual([]);
    expect(await fingerprint(t)).toBe(before);
    expect(plans.length).toBeGreaterThan(30);
    // Denied attempts are kept in the security log.
    // recordDenied does not wait for its insert: poll until the last ones have landed.
    await expect
      .poll(
        async () =>
          (
            await t.sql.query(
              `select count(*)::int as n from security_event where kind in ('FORBIDDEN', 'UNAUTHENTICATED')`,
            )
          ).rows[0].n,
      )
      .toBeGreaterThanOrEqual(plans.length);
  });

  it('allows each operation at exactly its declared level, with no other rights', async () => {
    const wrong: string[] = [];
    for (const f of fields) {
      const declared = scopes[f.name];
      if (!declared || declared.public || f.name === 'Mutation.logout') continue;
      const s = required(declared);
      const whos: Actor[] = [];
      if (s.owner) whos.push(owner);
      // Every scope of $all at once: the feature's level with each of someFeature's in turn.
      else if (declared.$all && s.feature && s.someFeature)
        for (const x of s.someFeature[0])
          whos.push(await actor({ [s.feature[0]]: s.feature[1], [x]: s.someFeature[1] }));
      else if (s.feature) whos.push(await actor({ [s.feature[0]]: s.feature[1] }));
      // The level in any one of the features is enough for the scope: each is tried alone.
      else if (s.someFeature)
        for (const x of s.someFeature[0]) whos.push(await actor({ [x]: s.someFeature[1] }));
      else whos.push(await actor(everywhere('NONE')));
      for (const who of whos) {
        const r = await call(f.kind, f.op, who.token);
        const got = code(r as never);
        // Past the scope, the service checks the object's own kind: a dummy EMAILING refused to an
        // SMS editor is that check working, named as such, not the scope refusing.
        const kindCheck =
          s.someFeature && /of an (EMAILING|SMS) operation needs/.test(r.errors?.[0]?.message ?? '');
        if (got && deniedCodes.includes(got) && !kindCheck)
          wrong.push(`${f.name}: ${got} ${JSON.stringify(r.errors)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('lets anyone call the public operations, without logging in', async () => {
    const publicFields = fields.filter((f) => scopes[f.name]?.public);
    expect(publicFields.map((f) => f.name).sort()).toEqual([
      'Mutation.acceptInvitation',
      'Mutation.login',
      'Mutation.signUp',
      'Mutation.submitForm',
      'Query.publicForm',
    ]);
    const denied: string[] = [];
    for (const f of publicFields) {
      const r = await call(f.kind, f.op, null);
      // Dummy arguments may be refused (a bad invitation, wrong credentials), but never because
      // the caller is anonymous: the scope check answers before the resolver with this message.
      const refused = (r.errors ?? []).find((e) =>
        /^Log in first|access level does not allow/.test(e.message),
      );
      if (refused) denied.push(`${f.name}: ${refused.message}`);
    }
    expect(denied).toEqual([]);
  });
});
