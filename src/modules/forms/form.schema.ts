import { filter, pipe } from 'graphql-yoga';
import { builder, need } from '../../builder.js';
import { badInput } from '../../shared/errors.js';
import { colleagueOf, inUsers } from '../users/colleague.js';
import { UserRef } from '../users/users.schema.js';
import type { FormKind } from './form.definition.js';
import { embedHtml } from './form.page.js';
import { formResults } from './form.results.js';
import {
  ContentRef,
  FieldRef,
  FormCreateInput,
  FormKindEnum,
  FormStatusEnum,
  FormUpdateInput,
  PublicFormRef,
  QuestionRef,
  ResultsRef,
  SettingsRef,
  SubmissionConnection,
  SubmissionRef,
  SubmitResultRef,
} from './form.schema.types.js';
import {
  createForm,
  deleteForm,
  type FormInput,
  type FormView,
  findForm,
  listForms,
  moveForm,
  publishForm,
  updateForm,
} from './form.service.js';
import { listSubmissions, type SubmissionView } from './form.submissions.js';
import {
  closedReason,
  findPublicForm,
  type PublicForm,
  type SubmitResult,
  submitForm,
} from './form.submit.js';

const read = need('FORMS', 'GUEST');
const edit = need('FORMS', 'EDITOR');
const approve = need('FORMS', 'APPROVER');

export const FormRef = builder.objectRef<FormView>('Form').implement({
  description:
    'A form or survey: its draft (what editors change) and the version that answers while published.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identity' }),
    kind: t.field({ type: FormKindEnum, description: 'Form or survey', resolve: (f) => f.kind }),
    name: t.exposeString('name', { description: 'Its name, also the page title' }),
    status: t.field({ type: FormStatusEnum, description: 'Where it stands', resolve: (f) => f.status }),
    fields: t.field({ type: [FieldRef], description: 'The draft’s fields', resolve: (f) => f.draft.fields }),
    questions: t.field({
      type: [QuestionRef],
      description: 'The draft’s questions',
      resolve: (f) => f.draft.questions,
    }),
    settings: t.field({
      type: SettingsRef,
      description: 'The draft’s settings',
      resolve: (f) => f.draft.settings,
    }),
    hasUnpublishedChanges: t.boolean({
      description: 'The draft differs from the published version',
      resolve: (f) => f.publishedHash !== null && f.publishedHash !== f.draftHash,
    }),
    published: t.field({
      type: ContentRef,
      nullable: true,
      description:
        'The version that answers (also when unpublished or closed); null before a first publication',
      resolve: (f) =>
        f.published && f.publishedVersion ? { ...f.published, version: f.publishedVersion } : null,
    }),
    publicId: t.exposeString('publicId', {
      description: 'Its public name, in its page’s URL and submitForm',
    }),
    url: t.string({
      description: 'Its page',
      resolve: (f, _a, ctx) => `${ctx.app.config.publicUrl}/f/${f.publicId}`,
    }),
    embedHtml: t.string({
      description: 'The snippet to paste in a site (an iframe of the page; no script)',
      resolve: (f, _a, ctx) => embedHtml(ctx.app.config.publicUrl, f.publicId, f.name),
    }),
    createdBy: t.field({
      ...inUsers,
      type: UserRef,
      nullable: true,
      description: 'Who created it; null when deleted, or below USERS >= GUEST',
      resolve: (f, _a, ctx) => colleagueOf(ctx, f.createdBy),
    }),
    validatedBy: t.field({
      ...inUsers,
      type: UserRef,
      nullable: true,
      description: 'The approver who published it last; null when deleted, or below USERS >= GUEST',
      resolve: (f, _a, ctx) => colleagueOf(ctx, f.validatedBy),
    }),
    publishedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'Last published',
      resolve: (f) => f.publishedAt,
    }),
    closedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When closed',
      resolve: (f) => f.closedAt,
    }),
    submissionCount: t.exposeInt('submissionCount', { description: 'Submissions received' }),
    submissions: t.field({
      type: SubmissionConnection,
      description: 'Its submissions, newest first; at most 200 per page',
      args: {
        first: t.arg.int({ required: false, description: 'Per page, 1 to 200, default 50' }),
        after: t.arg.string({ required: false, description: 'The endCursor of the previous page' }),
      },
      resolve: (f, a, ctx) => listSubmissions(ctx.em, f.id, a.first, a.after),
    }),
    results: t.field({
      type: ResultsRef,
      description:
        'Counts, averages, NPS and completion, per question of the published version (else the draft)',
      resolve: (f, _a, ctx) => formResults(ctx.em, f.id, f.published ?? f.draft),
    }),
    createdAt: t.field({ type: 'DateTime', description: 'Created', resolve: (f) => f.createdAt }),
    updatedAt: t.field({ type: 'DateTime', description: 'Last changed', resolve: (f) => f.updatedAt }),
  }),
});

const formInput = (i: Record<string, unknown>): FormInput => i as FormInput;

builder.queryField('forms', (t) =>
  t.withAuth(read).field({
    type: [FormRef],
    description: 'The forms and surveys of the account, newest first.',
    args: { kind: t.arg({ type: FormKindEnum, required: false, description: 'Only this kind' }) },
    resolve: (_r, a, ctx) => listForms(ctx.em, ctx.viewer.accountId, (a.kind ?? null) as FormKind | null),
  }),
);

builder.queryField('form', (t) =>
  t.withAuth(read).field({
    type: FormRef,
    description: "One form; NOT_FOUND for unknown ids, other accounts' included.",
    args: { id: t.arg.id({ required: true, description: 'The form' }) },
    resolve: (_r, a, ctx) => findForm(ctx.em, ctx.viewer.accountId, String(a.id)),
  }),
);

builder.queryField('publicForm', (t) =>
  t.field({
    authScopes: { public: true },
    skipTypeScopes: true,
    type: PublicFormRef,
    description:
      'Public: a published form as a visitor fills it (for an app that draws its own page). NOT_FOUND for drafts and unknown ids; CONFLICT when closed, unpublished, full or not open yet.',
    args: { publicId: t.arg.string({ required: true, description: 'Its publicId' }) },
    resolve: async (_r, a, ctx) => {
      const f = await findPublicForm(ctx.app.orm.em.fork(), a.publicId);
      const closed = closedReason(f);
      if (closed) throw closed;
      return f as PublicForm;
    },
  }),
);

builder.mutationField('createForm', (t) =>
  t.withAuth(edit).field({
    type: FormRef,
    description: 'Creates a DRAFT form or survey. BAD_USER_INPUT names the wrong part.',
    args: { input: t.arg({ type: FormCreateInput, required: true, description: 'The form' }) },
    resolve: (_r, a, ctx) => createForm(ctx, formInput(a.input)),
  }),
);

builder.mutationField('updateForm', (t) =>
  t.withAuth(edit).field({
    type: FormRef,
    description:
      'Changes the draft (given parts replace the old ones). A published form keeps answering with its published version until publishForm.',
    args: {
      id: t.arg.id({ required: true, description: 'The form' }),
      input: t.arg({ type: FormUpdateInput, required: true, description: 'What changes' }),
    },
    resolve: (_r, a, ctx) => updateForm(ctx, String(a.id), formInput(a.input)),
  }),
);

builder.mutationField('deleteForm', (t) =>
  t.withAuth(edit).id({
    description:
      'Deletes a form and its submissions; returns its id. A DRAFT: EDITOR; a form that was published: APPROVER, once unpublished or closed.',
    args: { id: t.arg.id({ required: true, description: 'The form' }) },
    resolve: (_r, a, ctx) => deleteForm(ctx, String(a.id)),
  }),
);

builder.mutationField('publishForm', (t) =>
  t.withAuth(approve).field({
    type: FormRef,
    description:
      'Publishes the draft as a new version (CONFLICT NOT_PUBLISHABLE lists what is missing, e.g. a required field for the account’s unique key).',
    args: { id: t.arg.id({ required: true, description: 'The form' }) },
    resolve: (_r, a, ctx) => publishForm(ctx, String(a.id)),
  }),
);

builder.mutationField('unpublishForm', (t) =>
  t.withAuth(approve).field({
    type: FormRef,
    description: 'Takes a published form down: it answers that it is not available until published again.',
    args: { id: t.arg.id({ required: true, description: 'The form' }) },
    resolve: (_r, a, ctx) => moveForm(ctx, String(a.id), 'unpublishForm'),
  }),
);

builder.mutationField('closeForm', (t) =>
  t.withAuth(approve).field({
    type: FormRef,
    description: 'Closes a form: it answers that it is closed; its submissions and results stay.',
    args: { id: t.arg.id({ required: true, description: 'The form' }) },
    resolve: (_r, a, ctx) => moveForm(ctx, String(a.id), 'closeForm'),
  }),
);

builder.mutationField('submitForm', (t) =>
  t.field({
    authScopes: { public: true },
    skipTypeScopes: true,
    type: SubmitResultRef,
    description:
      'Public: a visitor’s submission. Creates or merges the contact, records FORM_SUBMIT, stores the answers. The same idempotencyKey never makes two submissions. BAD_USER_INPUT lists the fields at fault in extensions.fields.',
    args: {
      publicId: t.arg.string({ required: true, description: 'The form’s publicId' }),
      values: t.arg({
        type: 'JSON',
        required: true,
        description: 'Values by key: text, a list of texts, or true',
      }),
      idempotencyKey: t.arg.string({
        required: false,
        description: 'The same key for retries of one submission (at most 100 characters)',
      }),
    },
    resolve: (_r, a, ctx): Promise<SubmitResult> => {
      const v = a.values;
      if (!v || typeof v !== 'object' || Array.isArray(v))
        throw badInput('values must be an object', { field: 'values' });
      return submitForm(ctx.app, {
        publicId: a.publicId,
        values: v as Record<string, unknown>,
        idempotencyKey: a.idempotencyKey ?? null,
        ip: ctx.ip,
      });
    },
  }),
);

builder.subscriptionField('formSubmitted', (t) =>
  t.withAuth(read).field({
    type: SubmissionRef,
    description:
      'New submissions of one form (or of every form of the account without formId), as they commit.',
    args: { formId: t.arg.id({ required: false, description: 'The form; all forms without it' }) },
    subscribe: async (_r, a, ctx) => {
      const formId = a.formId ? (await findForm(ctx.em, ctx.viewer.accountId, String(a.formId))).id : null;
      return pipe(
        ctx.app.pubsub.subscribe('formSubmitted', ctx.viewer.accountId),
        filter((s: SubmissionView) => formId === null || s.formId === formId),
      );
    },
    resolve: (s) => s,
  }),
);
