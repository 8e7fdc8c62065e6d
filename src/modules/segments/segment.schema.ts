import type { InputObjectRef, ObjectRef } from '@pothos/core';
import { type BuilderTypes, builder, need } from '../../builder.js';
import { connection, type Page, pageInOrder } from '../../shared/pagination.js';
import { contactOrderName, contactsAfter } from '../contacts/contact.cursor.js';
import { ContactRef } from '../contacts/contact.schema.js';
import type { ContactOrder, ContactView } from '../contacts/contact.service.js';
import { MAX_EXPANDED_LEAVES } from '../targeting/criterion.refs.js';
import { CriterionInput, CriterionNodeRef } from '../targeting/criterion.schema.js';
import { colleagueOf, inUsers } from '../users/colleague.js';
import { UserRef } from '../users/users.schema.js';
import {
  contactSegments,
  countMembers,
  memberPage,
  PREVIEW_DEFAULT,
  PREVIEW_MAX,
  type Preview,
  preview,
} from './segment.members.js';
import {
  createSegment,
  deleteSegments,
  findSegment,
  listSegments,
  MAX_DELETE_SEGMENTS,
  MAX_DESCRIPTION,
  MAX_NAME,
  type SegmentView,
  updateSegment,
} from './segment.service.js';

// The contacts' own connection and order types, by name: contact.schema.ts builds them inline
// without exporting them, and a second connection('Contact') would be a duplicate type.
const ContactConnectionRef = 'ContactConnection' as unknown as ObjectRef<BuilderTypes, Page<ContactView>>;
const ContactOrderRef = 'ContactOrder' as unknown as InputObjectRef<
  BuilderTypes,
  { field: ContactOrder; desc?: boolean | null }
>;

export const SegmentRef = builder.objectRef<SegmentView>('Segment').implement({
  description:
    'A saved criterion. Membership is never stored: count and contacts are computed from the live data when asked.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identity, also for client caches' }),
    name: t.exposeString('name', {
      description: `1 to ${MAX_NAME} characters, unique in the account whatever the case`,
    }),
    description: t.exposeString('description', {
      description: `Free text, at most ${MAX_DESCRIPTION} characters`,
    }),
    criterion: t.expose('criterion', {
      type: 'JSON',
      description: 'The Criterion tree as saved (canonical form), as JSON; criterionTree is the same, typed',
    }),
    criterionTree: t.field({
      type: CriterionNodeRef,
      description: 'The criterion, typed in the shape of the Criterion input (canonical form)',
      resolve: (s) => s.criterion,
    }),
    count: t.withAuth(need('CONTACTS', 'GUEST')).int({
      description:
        'How many contacts match now, exactly, computed when asked (TIMEOUT past the statement time limit)',
      resolve: (s, _a, ctx) => countMembers(ctx, s.criterion),
    }),
    contacts: t.withAuth(need('CONTACTS', 'GUEST')).field({
      type: ContactConnectionRef,
      description:
        'The members now, in the orders and with the cursors of Query.contacts; at most 200 per page (TIMEOUT past the statement time limit)',
      args: {
        first: t.arg.int({ required: false, description: 'Contacts per page, 1 to 200, default 50' }),
        after: t.arg.string({
          required: false,
          description: 'The endCursor (or an edge cursor) of the previous page, with the same orderBy',
        }),
        orderBy: t.arg({
          type: ContactOrderRef,
          required: false,
          description: 'Sort order; by id ascending by default. Keep it the same from page to page',
        }),
      },
      resolve: async (s, args, ctx, info) => {
        const order = { field: args.orderBy?.field ?? 'ID', desc: args.orderBy?.desc ?? false };
        const page = await memberPage(
          ctx,
          s.criterion,
          order,
          args.first,
          contactsAfter(args.after, order),
          info,
        );
        return pageInOrder(page, contactOrderName(order));
      },
    }),
    createdBy: t.field({
      ...inUsers,
      type: UserRef,
      nullable: true,
      description:
        'Who created it; null when that user is deleted, or when you have less than USERS >= GUEST',
      resolve: (s, _a, ctx) => colleagueOf(ctx, s.createdBy),
    }),
    updatedBy: t.field({
      ...inUsers,
      type: UserRef,
      nullable: true,
      description:
        'Who last changed it; null when that user is deleted, or when you have less than USERS >= GUEST',
      resolve: (s, _a, ctx) => colleagueOf(ctx, s.updatedBy),
    }),
    createdAt: t.field({ type: 'DateTime', description: 'When it was created', resolve: (s) => s.createdAt }),
    updatedAt: t.field({
      type: 'DateTime',
      description: 'When its definition last changed',
      resolve: (s) => s.updatedAt,
    }),
  }),
});

const SegmentPreviewRef = builder.objectRef<Preview>('SegmentPreview').implement({
  description:
    'What a criterion not saved would target now (the editor live preview). A one-off result, so it has no id.',
  fields: (t) => ({
    count: t.withAuth(need('CONTACTS', 'GUEST')).int({
      description: 'How many contacts match now, exactly',
      resolve: (p, _a, ctx) => countMembers(ctx, p.criterion),
    }),
    contacts: t.withAuth(need('CONTACTS', 'GUEST')).field({
      type: [ContactRef],
      description: `The first matching contacts by id (first of previewSegment, default ${PREVIEW_DEFAULT}, at most ${PREVIEW_MAX})`,
      // No info: pageColumns reads a connection's selection (nodes, edges), and this is a plain
      // list, whose fields it would not see (the rows then lacked the columns asked for).
      resolve: async (p, _a, ctx) =>
        (await memberPage(ctx, p.criterion, { field: 'ID', desc: false }, p.first, null)).nodes,
    }),
  }),
});

const SegmentFilterInput = builder.inputType('SegmentFilter', {
  description: 'All conditions given must hold.',
  fields: (t) => ({
    search: t.string({
      required: false,
      description: `Part of the name, in any case, at most ${MAX_NAME} characters`,
    }),
  }),
});

const CreateSegmentInput = builder.inputType('CreateSegmentInput', {
  description: 'A new segment.',
  fields: (t) => ({
    name: t.string({ required: true, description: `1 to ${MAX_NAME} characters, unique ignoring case` }),
    description: t.string({
      required: false,
      description: `At most ${MAX_DESCRIPTION} characters; default empty`,
    }),
    criterion: t.field({
      type: CriterionInput,
      required: true,
      description: `Which contacts are members; with the segments it names, at most ${MAX_EXPANDED_LEAVES} conditions`,
    }),
  }),
});

const UpdateSegmentInput = builder.inputType('UpdateSegmentInput', {
  description: 'Only what is given changes.',
  fields: (t) => ({
    id: t.id({ required: true, description: 'The segment to change' }),
    name: t.string({ required: false, description: `1 to ${MAX_NAME} characters, unique ignoring case` }),
    description: t.string({ required: false, description: `At most ${MAX_DESCRIPTION} characters` }),
    criterion: t.field({
      type: CriterionInput,
      required: false,
      description: 'Replaces the criterion; it may not read this segment, even through others or scores',
    }),
  }),
});

builder.queryField('segments', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: connection('Segment', SegmentRef),
    description: 'Segments of the account by name; at most 200 per page.',
    args: {
      filter: t.arg({
        type: SegmentFilterInput,
        required: false,
        description: 'Which segments; all by default',
      }),
      first: t.arg.int({ required: false, description: 'Segments per page, 1 to 200, default 50' }),
      after: t.arg.string({
        required: false,
        description: 'The endCursor (or an edge cursor) of the previous page',
      }),
    },
    resolve: (_r, args, ctx) =>
      listSegments(ctx.em, ctx.viewer.accountId, args.filter ?? {}, args.first, args.after),
  }),
);

builder.queryField('segment', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: SegmentRef,
    nullable: true,
    description: "One segment of the account; NOT_FOUND for unknown ids, including other accounts'.",
    args: { id: t.arg.id({ required: true, description: 'The segment' }) },
    resolve: (_r, args, ctx) => findSegment(ctx.em, ctx.viewer.accountId, String(args.id)),
  }),
);

builder.queryField('previewSegment', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: SegmentPreviewRef,
    description:
      'Counts and lists the contacts a criterion matches now, without saving it (the editor live preview). BAD_USER_INPUT as createSegment would answer.',
    args: {
      criterion: t.arg({ type: CriterionInput, required: true, description: 'The criterion to try' }),
      first: t.arg.int({
        required: false,
        description: `How many contacts to list, 1 to ${PREVIEW_MAX}, default ${PREVIEW_DEFAULT}`,
      }),
    },
    resolve: (_r, args, ctx) => preview(ctx, args.criterion, args.first),
  }),
);

builder.mutationField('createSegment', (t) =>
  t.withAuth(need('CONTACTS', 'EDITOR')).field({
    type: SegmentRef,
    description:
      'Creates a segment. CONFLICT when the name is taken (ignoring case); BAD_USER_INPUT names what is wrong in the criterion (unknown field, score or segment of this account, too many conditions).',
    args: { input: t.arg({ type: CreateSegmentInput, required: true, description: 'The segment' }) },
    resolve: (_r, { input }, ctx) =>
      createSegment(ctx, { name: input.name, description: input.description, criterion: input.criterion }),
  }),
);

builder.mutationField('updateSegment', (t) =>
  t.withAuth(need('CONTACTS', 'EDITOR')).field({
    type: SegmentRef,
    description:
      'Changes a segment and returns it. BAD_USER_INPUT when the criterion would read the segment itself, directly or through other segments and scores.',
    args: {
      input: t.arg({ type: UpdateSegmentInput, required: true, description: 'The segment and what changes' }),
    },
    resolve: (_r, { input }, ctx) =>
      updateSegment(ctx, String(input.id), {
        name: input.name,
        description: input.description,
        criterion: input.criterion,
      }),
  }),
);

builder.mutationField('deleteSegments', (t) =>
  t.withAuth(need('CONTACTS', 'EDITOR')).idList({
    description: `Deletes segments; returns the ids deleted (unknown ids are skipped). At most ${MAX_DELETE_SEGMENTS}. CONFLICT, naming it, when a score or another segment still reads one of them.`,
    args: { ids: t.arg.idList({ required: true, description: `The segments, 1 to ${MAX_DELETE_SEGMENTS}` }) },
    resolve: (_r, args, ctx) => deleteSegments(ctx, args.ids.map(String)),
  }),
);

builder.objectField(ContactRef, 'segments', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: [SegmentRef],
    description:
      'The segments of the account the contact belongs to now, by name (computed when asked, for a whole page at once)',
    resolve: (c, _a, ctx) => contactSegments(ctx, c.id),
  }),
);
