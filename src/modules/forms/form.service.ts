import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthedContext } from '../../context.js';
import { badInput, conflict, forbidden, notFound } from '../../shared/errors.js';
import { isUuid } from '../../shared/ids.js';
import { atLeast } from '../access/access.js';
import { mutate } from '../audit/audit.service.js';
import { accountSettings } from '../contacts/contact.locks.js';
import { loadFields } from '../contacts/fields.js';
import {
  checkDefinition,
  definitionHash,
  type FormDefinition,
  type FormKind,
  type FormStatus,
  publicationProblems,
} from './form.definition.js';

export const MAX_NAME = 200;
export const MAX_FORMS = 500;

/** A form as read: its draft, and the version that answers while it is published. */
export interface FormView {
  id: string;
  accountId: string;
  kind: FormKind;
  name: string;
  status: FormStatus;
  publicId: string;
  draft: FormDefinition;
  draftHash: string;
  publishedVersion: number | null;
  published: FormDefinition | null;
  publishedHash: string | null;
  createdBy: string | null;
  updatedBy: string | null;
  validatedBy: string | null;
  publishedAt: Date | null;
  closedAt: Date | null;
  submissionCount: number;
  createdAt: Date;
  updatedAt: Date;
}

export const FORM_SELECT = `select f.id, f.account_id as "accountId", f.kind, f.name, f.status, f.public_id as "publicId",
  f.draft, f.draft_hash as "draftHash", f.published_version as "publishedVersion", v.definition as published,
  v.hash as "publishedHash", f.created_by as "createdBy", f.updated_by as "updatedBy", f.validated_by as "validatedBy",
  f.published_at as "publishedAt", f.closed_at as "closedAt", f.submission_count as "submissionCount",
  f.created_at as "createdAt", f.updated_at as "updatedAt"
  from form f left join form_version v on v.form_id = f.id and v.version = f.published_version`;

export interface FormInput {
  kind?: FormKind | null;
  name?: string | null;
  fields?: unknown;
  questions?: unknown;
  settings?: unknown;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** 12 base62 characters, 71 bits: the public name of a form, unguessable, in URLs and pages. */
export function newPublicId(): string {
  return [...randomBytes(12)].map((b) => ALPHABET[b % 62]).join('');
}

export async function findForm(em: EntityManager, accountId: string, id: string, lock = false) {
  const rows = isUuid(id)
    ? await em.execute<FormView[]>(
        `${FORM_SELECT} where f.account_id = ? and f.id = ?${lock ? ' for update of f' : ''}`,
        [accountId, id],
      )
    : [];
  if (!rows[0]) throw notFound('Form');
  return rows[0];
}

export const listForms = (em: EntityManager, accountId: string, kind: FormKind | null) =>
  em.execute<FormView[]>(
    `${FORM_SELECT} where f.account_id = ?${kind ? ' and f.kind = ?' : ''} order by f.created_at desc, f.id`,
    kind ? [accountId, kind] : [accountId],
  );

function checkName(name: unknown): string {
  const n = typeof name === 'string' ? name.trim() : '';
  if (!n || n.length > MAX_NAME)
    throw badInput(`name must have 1 to ${MAX_NAME} characters`, { field: 'name' });
  return n;
}

export async function createForm(ctx: AuthedContext, input: FormInput): Promise<FormView> {
  const { accountId, userId } = ctx.viewer;
  if (input.kind !== 'FORM' && input.kind !== 'SURVEY') throw badInput('kind is FORM or SURVEY');
  const kind = input.kind;
  const name = checkName(input.name);
  const draft = checkDefinition(kind, input);
  return mutate(ctx, async ({ em, audit }) => {
    // The account row lock serialises creations: the limit holds under concurrent calls.
    await em.execute('select 1 from account where id = ? for no key update', [accountId]);
    const [{ n }] = await em.execute<{ n: number }[]>(
      'select count(*)::int as n from form where account_id = ?',
      [accountId],
    );
    if (n >= MAX_FORMS)
      throw conflict(`An account has at most ${MAX_FORMS} forms`, { reason: 'TOO_MANY_FORMS' });
    const [row] = await em.execute<{ id: string }[]>(
      `insert into form (account_id, kind, name, public_id, draft, draft_hash, created_by, updated_by)
       values (?, ?, ?, ?, ?::jsonb, ?, ?, ?) returning id`,
      [accountId, kind, name, newPublicId(), JSON.stringify(draft), definitionHash(draft), userId, userId],
    );
    audit({
      action: 'createForm',
      feature: 'FORMS',
      objectType: 'Form',
      objectId: row.id,
      diff: { kind, name },
    });
    return findForm(em, accountId, row.id);
  });
}

/**
 * Saves the draft. A published form keeps answering with its published version until an
 * approver publishes the new draft (`hasUnpublishedChanges` says there is one).
 */
export async function updateForm(ctx: AuthedContext, id: string, input: FormInput): Promise<FormView> {
  const { accountId, userId } = ctx.viewer;
  return mutate(ctx, async ({ em, audit }) => {
    const before = await findForm(em, accountId, id, true);
    if (input.kind && input.kind !== before.kind) throw badInput('the kind of a form does not change');
    const name = input.name == null ? before.name : checkName(input.name);
    const draft = checkDefinition(before.kind, {
      fields: input.fields ?? before.draft.fields,
      questions: input.questions ?? before.draft.questions,
      settings: input.settings ?? before.draft.settings,
    });
    const hash = definitionHash(draft);
    await em.execute(
      `update form set name = ?, draft = ?::jsonb, draft_hash = ?, updated_by = ?, updated_at = now()
        where id = ? and account_id = ?`,
      [name, JSON.stringify(draft), hash, userId, id, accountId],
    );
    audit({
      action: 'updateForm',
      feature: 'FORMS',
      objectType: 'Form',
      objectId: id,
      diff: {
        ...(name !== before.name ? { name: { from: before.name, to: name } } : {}),
        ...(hash !== before.draftHash ? { draft: { from: before.draftHash, to: hash } } : {}),
      },
    });
    return findForm(em, accountId, id);
  });
}

/**
 * EDITOR deletes a draft never published; a form that was published (its submissions, its
 * consents) is deleted by an APPROVER only, and only once it no longer answers.
 */
export async function deleteForm(ctx: AuthedContext, id: string): Promise<string> {
  const { accountId } = ctx.viewer;
  return mutate(ctx, async ({ em, audit }) => {
    const f = await findForm(em, accountId, id, true);
    if (f.status !== 'DRAFT') {
      if (!atLeast(ctx.viewer.rights.FORMS, 'APPROVER'))
        throw forbidden('A form that was published is deleted by an approver of FORMS');
      if (f.status === 'PUBLISHED')
        throw conflict('Unpublish or close the form before deleting it', { reason: 'FORM_PUBLISHED' });
    }
    await em.execute('delete from form where id = ? and account_id = ?', [id, accountId]);
    audit({
      action: 'deleteForm',
      feature: 'FORMS',
      objectType: 'Form',
      objectId: id,
      diff: { name: f.name, submissions: f.submissionCount },
    });
    return id;
  });
}

/** Publishes the draft as a new version (or the same one again, after an unpublish or a close). */
export async function publishForm(ctx: AuthedContext, id: string): Promise<FormView> {
  const { accountId, userId } = ctx.viewer;
  return mutate(ctx, async ({ em, audit }) => {
    const f = await findForm(em, accountId, id, true);
    const [fields, settings] = await Promise.all([loadFields(em, accountId), accountSettings(em, accountId)]);
    const problems = publicationProblems(f.draft, fields, settings.uniqueKey);
    if (problems.length)
      throw conflict(`The form cannot be published: ${problems.join('; ')}`, {
        reason: 'NOT_PUBLISHABLE',
        problems,
      });
    if (f.status === 'PUBLISHED' && f.publishedHash === f.draftHash)
      throw conflict('This version is already published: edit the form first', {
        reason: 'NOTHING_TO_PUBLISH',
      });
    let version = f.publishedVersion;
    if (f.publishedHash !== f.draftHash) {
      const [{ last }] = await em.execute<{ last: number | null }[]>(
        'select max(version) as last from form_version where form_id = ?',
        [id],
      );
      version = (last ?? 0) + 1;
      await em.execute(
        'insert into form_version (form_id, version, definition, hash, published_by) values (?, ?, ?::jsonb, ?, ?)',
        [id, version, JSON.stringify(f.draft), f.draftHash, userId],
      );
    }
    await em.execute(
      `update form set status = 'PUBLISHED', published_version = ?, validated_by = ?, published_at = now(),
              closed_at = null, updated_at = now() where id = ?`,
      [version, userId, id],
    );
    audit({
      action: 'publishForm',
      feature: 'FORMS',
      objectType: 'Form',
      objectId: id,
      diff: { status: { from: f.status, to: 'PUBLISHED' }, version },
    });
    return findForm(em, accountId, id);
  });
}

const MOVES: Record<'unpublishForm' | 'closeForm', { to: FormStatus; from: FormStatus[] }> = {
  unpublishForm: { to: 'UNPUBLISHED', from: ['PUBLISHED'] },
  closeForm: { to: 'CLOSED', from: ['PUBLISHED', 'UNPUBLISHED'] },
};

/** unpublishForm: the page and the endpoint stop answering; closeForm: they say it is closed. */
export async function moveForm(
  ctx: AuthedContext,
  id: string,
  action: keyof typeof MOVES,
): Promise<FormView> {
  const { accountId } = ctx.viewer;
  const move = MOVES[action];
  return mutate(ctx, async ({ em, audit }) => {
    const f = await findForm(em, accountId, id, true);
    if (!move.from.includes(f.status))
      throw conflict(`A ${f.status} form cannot go to ${move.to}`, {
        reason: 'WRONG_STATUS',
        status: f.status,
      });
    await em.execute(
      `update form set status = ?, closed_at = case when ? = 'CLOSED' then now() else closed_at end,
              updated_at = now() where id = ?`,
      [move.to, move.to, id],
    );
    audit({
      action,
      feature: 'FORMS',
      objectType: 'Form',
      objectId: id,
      diff: { status: { from: f.status, to: move.to } },
    });
    return findForm(em, accountId, id);
  });
}
