import { builder } from '../../builder.js';
import '../../shared/decimal.js';
import { describedValues } from '../../shared/enum-values.js';
import { EventTypeEnum } from '../events/event.schema.js';
import {
  COMPARE_OPS,
  type Criterion,
  type EventCriterion,
  FIELD_OPS,
  type FieldCriterion,
  MAX_DEPTH,
  MAX_IN_VALUES,
  MAX_LEAVES,
  type ScoreCriterion,
} from './criterion.js';

export const FieldOpEnum = builder.enumType('CriterionFieldOp', {
  description:
    'TEXT: EQ NEQ IN CONTAINS STARTS_WITH IS_SET IS_NOT_SET (CONTAINS/STARTS_WITH ignore case). NUMBER: EQ NEQ LT LTE GT GTE IN IS_SET IS_NOT_SET. DATE: EQ NEQ LT LTE GT GTE IS_SET IS_NOT_SET. BOOLEAN: EQ NEQ IS_SET IS_NOT_SET. NEQ also matches contacts where the field is unset.',
  values: describedValues(FIELD_OPS, {
    EQ: 'Equal to value',
    NEQ: 'Not equal to value, or unset',
    LT: 'Less than value (NUMBER, DATE: earlier)',
    LTE: 'Less than or equal to value',
    GT: 'Greater than value (NUMBER, DATE: later)',
    GTE: 'Greater than or equal to value',
    IN: `Equal to one of values (1 to ${MAX_IN_VALUES})`,
    CONTAINS: 'TEXT only: contains value, ignoring case',
    STARTS_WITH: 'TEXT only: starts with value, ignoring case',
    IS_SET: 'Has a value',
    IS_NOT_SET: 'Has no value',
  }),
});
export const CompareOpEnum = builder.enumType('CriterionCompareOp', {
  description: "How a contact's score compares with a value.",
  values: describedValues(COMPARE_OPS, {
    EQ: 'Equal',
    NEQ: 'Not equal',
    LT: 'Less than',
    LTE: 'Less than or equal',
    GT: 'Greater than',
    GTE: 'Greater than or equal',
  }),
});

const FIELD_DOC = {
  name: 'Field name: email, phone, firstName, lastName, gender, birthDate, city, department, country or a custom field',
  op: 'The comparison; which ones apply depends on the field type (see CriterionFieldOp)',
  value:
    'As text: "12.50" (NUMBER), "2026-01-31" (DATE), "true"/"false" (BOOLEAN), at most 1000 characters (TEXT); not used by IN, IS_SET, IS_NOT_SET',
  values: `For IN: 1 to ${MAX_IN_VALUES} values, as text like value`,
};
const EVENT_DOC = {
  type: 'The event type',
  operationId: 'Only events of this Emailing or SMS operation (a UUID)',
  formId: 'Only events of this form (a UUID)',
  url: 'Only events with exactly this URL, at most 2000 characters',
  withinDays: 'Only events of the last withinDays days, 1 to 3650',
  minCount: 'At least this many events, 1 to 100000 (default 1); not allowed in FIXED_PER_EVENT',
};
const SCORE_DOC = {
  scoreId: 'Another score of the account; no cycles',
  op: 'How the value compares',
  value: "The value the contact's score is compared with",
};

const FieldCriterionInput = builder.inputType('FieldCriterionInput', {
  description: 'A condition on a standard or custom contact field, checked against the field type.',
  fields: (t) => ({
    name: t.string({ required: true, description: FIELD_DOC.name }),
    op: t.field({ type: FieldOpEnum, required: true, description: FIELD_DOC.op }),
    value: t.string({ required: false, description: FIELD_DOC.value }),
    values: t.stringList({ required: false, description: FIELD_DOC.values }),
  }),
});

const EventCriterionInput = builder.inputType('EventCriterionInput', {
  description:
    'The contact has events of this type (and operation, form, exact url, in the last withinDays days), at least minCount of them (default 1).',
  fields: (t) => ({
    type: t.field({ type: EventTypeEnum, required: true, description: EVENT_DOC.type }),
    operationId: t.id({ required: false, description: EVENT_DOC.operationId }),
    formId: t.id({ required: false, description: EVENT_DOC.formId }),
    url: t.string({ required: false, description: EVENT_DOC.url }),
    withinDays: t.int({ required: false, description: EVENT_DOC.withinDays }),
    minCount: t.int({ required: false, description: EVENT_DOC.minCount }),
  }),
});

const ScoreCriterionInput = builder.inputType('ScoreCriterionInput', {
  description: "The contact's value for another score of the account (0 when it has none).",
  fields: (t) => ({
    scoreId: t.id({ required: true, description: SCORE_DOC.scoreId }),
    op: t.field({ type: CompareOpEnum, required: true, description: SCORE_DOC.op }),
    value: t.field({ type: 'Decimal', required: true, description: SCORE_DOC.value }),
  }),
});

export const CriterionInput = builder.inputRef<Record<string, unknown>>('Criterion').implement({
  description: `A targeting criterion, shared by scores and segments: exactly one of field, event, score, all, any, not. At most ${MAX_DEPTH} levels and ${MAX_LEAVES} conditions.`,
  isOneOf: true,
  fields: (t) => ({
    field: t.field({
      type: FieldCriterionInput,
      required: false,
      description: 'A condition on a contact field',
    }),
    event: t.field({
      type: EventCriterionInput,
      required: false,
      description: "A condition on the contact's events",
    }),
    score: t.field({
      type: ScoreCriterionInput,
      required: false,
      description: "A condition on another score's value",
    }),
    all: t.field({ type: [CriterionInput], required: false, description: 'Every one holds (at least one)' }),
    any: t.field({
      type: [CriterionInput],
      required: false,
      description: 'At least one holds (at least one)',
    }),
    not: t.field({ type: CriterionInput, required: false, description: 'Does not hold' }),
  }),
});

// The output mirror of the inputs above: the same names and fields, so a client can read a
// stored criterion and send it back unchanged. Embedded values of their score condition: no id.
const embedded = ' An embedded value of its score condition, so it has no id.';

const FieldCriterionRef = builder.objectRef<FieldCriterion>('FieldCriterion').implement({
  description: `A condition on a contact field, as FieldCriterionInput (canonical form).${embedded}`,
  fields: (t) => ({
    name: t.exposeString('name', { description: FIELD_DOC.name }),
    op: t.field({ type: FieldOpEnum, description: FIELD_DOC.op, resolve: (f) => f.op }),
    value: t.string({
      nullable: true,
      description: `${FIELD_DOC.value}. Stored canonical: NUMBER without leading or trailing zeros`,
      resolve: (f) => f.value ?? null,
    }),
    values: t.stringList({ nullable: true, description: FIELD_DOC.values, resolve: (f) => f.values ?? null }),
  }),
});

const EventCriterionRef = builder.objectRef<EventCriterion>('EventCriterion').implement({
  description: `A condition on the contact's events, as EventCriterionInput.${embedded}`,
  fields: (t) => ({
    type: t.field({ type: EventTypeEnum, description: EVENT_DOC.type, resolve: (e) => e.type }),
    operationId: t.id({
      nullable: true,
      description: EVENT_DOC.operationId,
      resolve: (e) => e.operationId ?? null,
    }),
    formId: t.id({ nullable: true, description: EVENT_DOC.formId, resolve: (e) => e.formId ?? null }),
    url: t.string({ nullable: true, description: EVENT_DOC.url, resolve: (e) => e.url ?? null }),
    withinDays: t.int({
      nullable: true,
      description: EVENT_DOC.withinDays,
      resolve: (e) => e.withinDays ?? null,
    }),
    minCount: t.int({
      nullable: true,
      description: `${EVENT_DOC.minCount}. null means 1`,
      resolve: (e) => e.minCount ?? null,
    }),
  }),
});

const ScoreCriterionRef = builder.objectRef<ScoreCriterion>('ScoreCriterion').implement({
  description: `A condition on another score's value, as ScoreCriterionInput.${embedded}`,
  fields: (t) => ({
    scoreId: t.exposeID('scoreId', { description: SCORE_DOC.scoreId }),
    op: t.field({ type: CompareOpEnum, description: SCORE_DOC.op, resolve: (s) => s.op }),
    value: t.field({ type: 'Decimal', description: SCORE_DOC.value, resolve: (s) => s.value }),
  }),
});

const pick = <K extends 'field' | 'event' | 'score' | 'all' | 'any' | 'not'>(c: Criterion, k: K) =>
  k in c ? ((c as Record<K, unknown>)[k] as never) : null;

export const CriterionNodeRef = builder.objectRef<Criterion>('CriterionNode');
CriterionNodeRef.implement({
  description: `A stored criterion in the shape of the Criterion input: exactly one field is non-null. Select all/any/not as deep as your criteria nest (at most ${MAX_DEPTH} levels); the JSON criterion beside it holds the whole tree.${embedded}`,
  fields: (t) => ({
    field: t.field({
      type: FieldCriterionRef,
      nullable: true,
      description: 'A condition on a contact field',
      resolve: (c) => pick(c, 'field'),
    }),
    event: t.field({
      type: EventCriterionRef,
      nullable: true,
      description: "A condition on the contact's events",
      resolve: (c) => pick(c, 'event'),
    }),
    score: t.field({
      type: ScoreCriterionRef,
      nullable: true,
      description: "A condition on another score's value",
      resolve: (c) => pick(c, 'score'),
    }),
    all: t.field({
      type: [CriterionNodeRef],
      nullable: true,
      description: 'Every one holds',
      resolve: (c) => pick(c, 'all'),
    }),
    any: t.field({
      type: [CriterionNodeRef],
      nullable: true,
      description: 'At least one holds',
      resolve: (c) => pick(c, 'any'),
    }),
    not: t.field({
      type: CriterionNodeRef,
      nullable: true,
      description: 'Does not hold',
      resolve: (c) => pick(c, 'not'),
    }),
  }),
});
