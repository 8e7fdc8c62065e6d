import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthedContext } from '../../context.js';
import { badInput, conflict } from '../../shared/errors.js';
import { isUuid } from '../../shared/ids.js';
import type { Page } from '../../shared/pagination.js';
import { mutate } from '../audit/audit.service.js';
import type { MergeEnv } from '../messaging/template.js';
import { type AudienceInput, checkAudience, emptyAudience } from './operation.audience.js';
import {
  checkName,
  contentHash,
  emptyEmail,
  emptySms,
  loadMergeEnv,
  saveEmail,
  saveSms,
} from './operation.content.js';
import type { EmailContent, OperationKind, SmsContent } from './operation.entity.js';
import {
  deleteOperationRows,
  findOperation,
  insertOperation,
  listOperations,
  type OperationFilter,
  type OperationView,
  writeOperation,
} from './operation.repository.js';
import { featureOf, readableKinds, requireKind } from './operation.rights.js';
import { statusesFor, transitionOf } from './operation.workflow.js';

export const MAX_DELETE_OPERATIONS = 100;

export interface OperationInput {
  name?: string | null;
  audience?: AudienceInput | null;
  email?: Partial<Record<keyof EmailContent, string | null>> | null;
  sms?: Partial<Record<keyof SmsContent, string | null>> | null;
}

/** One operation of the account the viewer may read; NOT_FOUND for other accounts' ids. */
export async function readOperation(ctx: AuthedContext, id: string): Promise<OperationView> {
  const op = await findOperation(ctx.em, ctx.viewer.accountId, id);
  requireKind(ctx.viewer, op.kind, 'GUEST', 'Reading');
  return op;
}

export function listVisible(
  ctx: AuthedContext,
  filter: OperationFilter,
  first?: number | null,
  after?: string | null,
): Promise<Page<OperationView>> {
  return listOperations(ctx.em, ctx.viewer.accountId, readableKinds(ctx.viewer), filter, first, after);
}

const once = <T>(load: () => Promise<T>) => {
  let p: Promise<T> | null = null;
  return () => {
    p ??= load();
    return p;
  };
};

/** The content of `kind` after the patch in `input`; the other kind's content is refused. */
async function nextContent(
  em: EntityManager,
  accountId: string,
  kind: OperationKind,
  before: EmailContent | SmsContent,
  input: OperationInput,
  env: () => Promise<MergeEnv>,
): Promise<EmailContent | SmsContent> {
  if (kind === 'EMAILING') {
    if (input.sms) throw badInput('sms: this operation is an EMAILING; give email content', { field: 'sms' });
    return input.email ? saveEmail(em, accountId, env, before as EmailContent, input.email) : before;
  }
  if (input.email) throw badInput('email: this operation is an SMS; give sms content', { field: 'email' });
  return input.sms ? saveSms(env, before as SmsContent, input.sms) : before;
}

export async function createOperation(
  ctx: AuthedContext,
  input: OperationInput & { kind: OperationKind; name: string },
): Promise<OperationView> {
  const { accountId, userId } = ctx.viewer;
  requireKind(ctx.viewer, input.kind, 'EDITOR', 'Creating');
  const name = checkName(input.name);
  return mutate(ctx, async ({ em, audit }) => {
    const env = once(() => loadMergeEnv(em, accountId));
    const audience = input.audience ? await checkAudience(em, accountId, input.audience) : emptyAudience();
    const empty = input.kind === 'EMAILING' ? emptyEmail() : emptySms();
    const content = await nextContent(em, accountId, input.kind, empty, input, env);
    const id = await insertOperation(em, {
      accountId,
      kind: input.kind,
      name,
      status: 'DRAFT',
      audience,
      content,
      version: 1,
      contentHash: contentHash({ name, audience, content }),
      createdBy: userId,
      // Milliseconds, as a Date holds them: the list's cursor compares this exact value.
      createdAt: new Date(),
    });
    audit({
      action: 'createOperation',
      feature: featureOf(input.kind),
      objectType: 'Operation',
      objectId: id,
      diff: { kind: input.kind, name, status: 'DRAFT', audience, content },
    });
    return findOperation(em, accountId, id);
  });
}

/**
 * An edit. Allowed until scheduled (operation.workflow.ts `edit`); past DRAFT it sends the
 * operation back to DRAFT and voids its submission, validation and schedule. An update that
 * changes nothing (same hash) is no edit: nothing is written, the status stays.
 */
export async function updateOperation(
  ctx: AuthedContext,
  id: string,
  input: OperationInput,
): Promise<OperationView> {
  const { accountId, userId } = ctx.viewer;
  return mutate(ctx, async ({ em, audit }) => {
    const op = await findOperation(em, accountId, id, true);
    requireKind(ctx.viewer, op.kind, 'EDITOR', 'Editing');
    if (!transitionOf(op.status, 'edit'))
      throw conflict(
        `An operation ${op.status} cannot be edited (only ${statusesFor('edit').join(', ')}): pause or cancel it first`,
        { status: op.status },
      );
    const env = once(() => loadMergeEnv(em, accountId));
    const name = input.name != null ? checkName(input.name) : op.name;
    const audience = input.audience ? await checkAudience(em, accountId, input.audience) : op.audience;
    const content = await nextContent(em, accountId, op.kind, op.content, input, env);
    const hash = contentHash({ name, audience, content });
    if (hash === op.contentHash) return op;
    const before = { ...op };
    Object.assign(op, {
      name,
      audience,
      content,
      contentHash: hash,
      version: op.version + 1,
      updatedBy: userId,
      updatedAt: new Date(),
    });
    if (op.status !== 'DRAFT') {
      // The validation was of the previous version: it no longer stands, nor what followed it.
      Object.assign(op, {
        status: 'DRAFT',
        validatedVersion: null,
        validatedHash: null,
        validatedBy: null,
        validatedAt: null,
        submittedBy: null,
        submittedAt: null,
        scheduledAt: null,
      });
    }
    await writeOperation(em, op);
    audit({
      action: 'updateOperation',
      feature: featureOf(op.kind),
      objectType: 'Operation',
      objectId: op.id,
      diff: changes(before, op),
    });
    return findOperation(em, accountId, op.id);
  });
}

/** `{ key: { from, to } }` of the keys that differ, for audit entries. */
export function changes(
  before: OperationView,
  after: OperationView,
): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of Object.keys(after) as (keyof OperationView)[]) {
    if (key === 'updatedAt' || key === 'contentHash') continue;
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key]))
      out[key] = { from: before[key] ?? null, to: after[key] ?? null };
  }
  return out;
}

/**
 * Deletes DRAFT and REJECTED operations (workflow `delete`), all or nothing: one in another state
 * is a CONFLICT naming it, one of a kind the viewer cannot edit is FORBIDDEN. Unknown ids (other
 * accounts' too) are skipped, as deleteSegments does.
 */
export async function deleteOperations(ctx: AuthedContext, ids: readonly string[]): Promise<string[]> {
  if (ids.length > MAX_DELETE_OPERATIONS)
    throw badInput(`deleteOperations takes at most ${MAX_DELETE_OPERATIONS} ids`);
  const wanted = [...new Set(ids.filter(isUuid).map((i) => i.toLowerCase()))];
  if (!wanted.length) return [];
  const { accountId } = ctx.viewer;
  return mutate(ctx, async ({ em, audit }) => {
    const found = await em.execute<
      { id: string; kind: OperationKind; name: string; status: OperationView['status'] }[]
    >(
      'select id, kind, name, status from operation where account_id = ? and id in (?) order by id for update',
      [accountId, wanted],
    );
    for (const f of found) requireKind(ctx.viewer, f.kind, 'EDITOR', 'Deleting');
    const stuck = found.find((f) => !transitionOf(f.status, 'delete'));
    if (stuck)
      throw conflict(
        `Operation "${stuck.name}" is ${stuck.status}: only ${statusesFor('delete').join(' and ')} operations are deleted (cancel it instead)`,
        { operationId: stuck.id, status: stuck.status },
      );
    await deleteOperationRows(
      em,
      accountId,
      found.map((f) => f.id),
    );
    for (const f of found)
      audit({
        action: 'deleteOperation',
        feature: featureOf(f.kind),
        objectType: 'Operation',
        objectId: f.id,
        diff: { name: f.name, status: { from: f.status, to: 'DELETED' } },
      });
    return found.map((f) => f.id);
  });
}
