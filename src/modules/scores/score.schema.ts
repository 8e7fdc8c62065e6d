import { builder, need } from '../../builder.js';
import { describedValues } from '../../shared/enum-values.js';
import { ContactRef } from '../contacts/contact.schema.js';
import { CriterionInput, CriterionNodeRef } from '../targeting/criterion.schema.js';
import { contactScores } from './contact-scores.js';
import { SCORE_MODES } from './score.entity.js';
import {
  type ConditionView,
  createScore,
  deleteScores,
  findScore,
  listScores,
  MAX_CONDITIONS,
  MAX_DELETE_SCORES,
  type ScoreView,
  updateScore,
} from './score.service.js';

export const ScoreModeEnum = builder.enumType('ScoreMode', {
  description:
    'FIXED: the value once if the contact matches. FIXED_PER_EVENT: the value once per matching event recorded since the previous computation (accumulates). FIELD_VALUE: the NUMBER field of the criterion at computation time times the coefficient.',
  values: describedValues(SCORE_MODES, {
    FIXED: 'The value, once, while the contact matches the criterion',
    FIXED_PER_EVENT:
      'The value once per matching event recorded since the previous computation, added up run after run. The criterion is an event, an any of events, or an all of one of those with conditions on the contact; no minCount',
    FIELD_VALUE:
      'The value of the NUMBER field the criterion names (a single field condition) times the coefficient, at computation time',
  }),
});

// Conditions are replaced as a whole by updateScore and read only inside their Score (which has
// the id): an embedded value with no identity of its own.
const ConditionRef = builder.objectRef<ConditionView>('ScoreCondition').implement({
  description:
    'One condition of a score: which contacts it matches and what it adds. An embedded value of its Score, so it has no id.',
  fields: (t) => ({
    criterion: t.expose('criterion', {
      type: 'JSON',
      description:
        'The Criterion tree as given (canonical form), as JSON. Kept for compatibility: criterionTree is the same, typed',
    }),
    criterionTree: t.field({
      type: CriterionNodeRef,
      description: 'The criterion, typed in the shape of the Criterion input (canonical form)',
      resolve: (c) => c.criterion,
    }),
    mode: t.field({ type: ScoreModeEnum, description: 'How the value is counted', resolve: (c) => c.mode }),
    value: t.field({
      type: 'Decimal',
      resolve: (c) => c.value,
      description: 'Points added (FIXED) or added per event (FIXED_PER_EVENT); not used by FIELD_VALUE (0)',
    }),
    coefficient: t.field({
      type: 'Decimal',
      resolve: (c) => c.coefficient,
      description: 'FIELD_VALUE only: the field value is multiplied by it (1 otherwise)',
    }),
  }),
});

export const ScoreRef = builder.objectRef<ScoreView>('Score').implement({
  description: 'A lead score: conditions whose values add up per contact.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identity, also for client caches' }),
    name: t.exposeString('name', {
      description:
        'Prefixed "[SCORE] " unless given with a [prefix] of its own; at most 200 characters with the prefix',
    }),
    description: t.exposeString('description', { description: 'Free text, at most 2000 characters' }),
    conditions: t.field({
      type: [ConditionRef],
      description: `Its conditions, 1 to ${MAX_CONDITIONS}, in the order given; a contact's value is their sum`,
      resolve: (s) => s.conditions,
    }),
    lastRunAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When its values were last computed; null before the first computation',
      resolve: (s) => s.lastRunAt,
    }),
    nextRunAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'Next automatic computation (scoreIntervalHours after the last manual one)',
      resolve: (s) => s.nextRunAt,
    }),
  }),
});

const ConditionInput = builder.inputType('ScoreConditionInput', {
  description: 'One condition of a score.',
  fields: (t) => ({
    criterion: t.field({ type: CriterionInput, required: true, description: 'Which contacts it matches' }),
    mode: t.field({ type: ScoreModeEnum, required: true, description: 'How the value is counted' }),
    value: t.field({
      type: 'Decimal',
      required: false,
      description: 'Points; required for FIXED and FIXED_PER_EVENT',
    }),
    coefficient: t.field({
      type: 'Decimal',
      required: false,
      description: 'FIELD_VALUE only: multiplies the field value; default 1',
    }),
  }),
});

const CreateScoreInput = builder.inputType('CreateScoreInput', {
  description: 'A new score.',
  fields: (t) => ({
    name: t.string({ required: true, description: '1 to 200 characters with the prefix' }),
    description: t.string({ required: false, description: 'At most 2000 characters; default empty' }),
    conditions: t.field({ type: [ConditionInput], required: true, description: `1 to ${MAX_CONDITIONS}` }),
  }),
});

const UpdateScoreInput = builder.inputType('UpdateScoreInput', {
  description: 'Only what is given changes; conditions are replaced as a whole.',
  fields: (t) => ({
    id: t.id({ required: true, description: 'The score to change' }),
    name: t.string({ required: false, description: '1 to 200 characters with the prefix' }),
    description: t.string({ required: false, description: 'At most 2000 characters' }),
    conditions: t.field({
      type: [ConditionInput],
      required: false,
      description: `All the conditions, 1 to ${MAX_CONDITIONS}; they replace the current ones`,
    }),
  }),
});

const conditionsOf = (
  list: readonly {
    criterion: unknown;
    mode: ConditionView['mode'];
    value?: string | null;
    coefficient?: string | null;
  }[],
) => list.map((c) => ({ criterion: c.criterion, mode: c.mode, value: c.value, coefficient: c.coefficient }));

builder.queryField('scores', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: [ScoreRef],
    description: 'Every score of the account, by name.',
    resolve: (_r, _a, ctx) => listScores(ctx.em, ctx.viewer.accountId),
  }),
);

builder.queryField('score', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: ScoreRef,
    nullable: true,
    description: "One score of the account; null for unknown ids, including other accounts'.",
    args: { id: t.arg.id({ required: true, description: 'The score' }) },
    resolve: (_r, args, ctx) => findScore(ctx.em, ctx.viewer.accountId, String(args.id)),
  }),
);

builder.mutationField('createScore', (t) =>
  t.withAuth(need('CONTACTS', 'EDITOR')).field({
    type: ScoreRef,
    description:
      'Creates a score; its values appear at the next computation. BAD_USER_INPUT names the condition at fault (unknown field, wrong operator, a score read in a cycle).',
    args: { input: t.arg({ type: CreateScoreInput, required: true, description: 'The score' }) },
    resolve: (_r, { input }, ctx) =>
      createScore(ctx, {
        name: input.name,
        description: input.description,
        conditions: conditionsOf(input.conditions),
      }),
  }),
);

builder.mutationField('updateScore', (t) =>
  t.withAuth(need('CONTACTS', 'EDITOR')).field({
    type: ScoreRef,
    description: 'Changes a score and returns it; its values follow at the next computation.',
    args: {
      input: t.arg({ type: UpdateScoreInput, required: true, description: 'The score and what changes' }),
    },
    resolve: (_r, { input }, ctx) =>
      updateScore(ctx, String(input.id), {
        name: input.name,
        description: input.description,
        conditions: input.conditions ? conditionsOf(input.conditions) : null,
      }),
  }),
);

builder.mutationField('deleteScores', (t) =>
  t.withAuth(need('CONTACTS', 'EDITOR')).idList({
    description: `Deletes scores and their values; returns the ids deleted (unknown ids are skipped; evict them from a client cache, and refetch contacts' scores). At most ${MAX_DELETE_SCORES}. CONFLICT when another score's criterion reads one of them.`,
    args: { ids: t.arg.idList({ required: true, description: `The scores, 1 to ${MAX_DELETE_SCORES}` }) },
    resolve: (_r, args, ctx) => deleteScores(ctx, args.ids.map(String)),
  }),
);

// A contact's value for one score: read only inside its Contact (Contact.scores), where it is
// replaced as a whole. An id of scoreId would merge the values of different contacts in a cache.
const ContactScoreRef = builder
  .objectRef<{ scoreId: string; name: string; value: string }>('ContactScore')
  .implement({
    description:
      "A contact's value for one score. An embedded value of its Contact, so it has no id (scoreId alone is shared by every contact).",
    fields: (t) => ({
      scoreId: t.exposeID('scoreId', { description: 'The score' }),
      name: t.exposeString('name', { description: "The score's name" }),
      value: t.field({
        type: 'Decimal',
        description: 'Points, as of the last computation; 0 when the contact has none',
        resolve: (s) => s.value,
      }),
    }),
  });

builder.objectField(ContactRef, 'scores', (t) =>
  t.field({
    type: [ContactScoreRef],
    authScopes: need('CONTACTS', 'GUEST'),
    description:
      "The contact's value for every score of the account (0 until it has one), as of the last computation.",
    resolve: (c, _a, ctx) => contactScores(ctx, c.id),
  }),
);
