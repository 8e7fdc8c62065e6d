import { builder } from '../../../builder.js';
import '../../../shared/decimal.js';
import { EventTypeEnum } from '../../events/event.schema.js';
import { COMPARE_OPS, FIELD_OPS } from './criterion.js';

export const FieldOpEnum = builder.enumType('CriterionFieldOp', {
  description:
    'TEXT: EQ NEQ IN CONTAINS STARTS_WITH IS_SET IS_NOT_SET (CONTAINS/STARTS_WITH ignore case). NUMBER: EQ NEQ LT LTE GT GTE IN IS_SET IS_NOT_SET. DATE: EQ NEQ LT LTE GT GTE IS_SET IS_NOT_SET. BOOLEAN: EQ NEQ IS_SET IS_NOT_SET. NEQ also matches contacts where the field is unset.',
  values: FIELD_OPS,
});
export const CompareOpEnum = builder.enumType('CriterionCompareOp', { values: COMPARE_OPS });

const FieldCriterionInput = builder.inputType('FieldCriterionInput', {
  description: 'A condition on a standard or custom contact field, checked against the field type.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Field name: email, city, ... or a custom field' }),
    op: t.field({ type: FieldOpEnum, required: true }),
    value: t.string({
      required: false,
      description: 'As text: "12.50", "2026-01-31", "true"; not used by IS_SET / IS_NOT_SET',
    }),
    values: t.stringList({ required: false, description: 'For IN: 1 to 500 values' }),
  }),
});

const EventCriterionInput = builder.inputType('EventCriterionInput', {
  description:
    'The contact has events of this type (and operation, form, exact url, in the last withinDays days), at least minCount of them (default 1).',
  fields: (t) => ({
    type: t.field({ type: EventTypeEnum, required: true }),
    operationId: t.id({ required: false }),
    formId: t.id({ required: false }),
    url: t.string({ required: false, description: 'Exact URL, at most 2000 characters' }),
    withinDays: t.int({ required: false, description: '1 to 3650' }),
    minCount: t.int({ required: false, description: '1 to 100000; not allowed in FIXED_PER_EVENT' }),
  }),
});

const ScoreCriterionInput = builder.inputType('ScoreCriterionInput', {
  description: "The contact's value for another score of the account (0 when it has none).",
  fields: (t) => ({
    scoreId: t.id({ required: true }),
    op: t.field({ type: CompareOpEnum, required: true }),
    value: t.field({ type: 'Decimal', required: true }),
  }),
});

export const CriterionInput = builder.inputRef<Record<string, unknown>>('Criterion').implement({
  description:
    'A targeting criterion, shared by scores and segments: exactly one of field, event, score, all, any, not. At most 6 levels and 50 conditions.',
  isOneOf: true,
  fields: (t) => ({
    field: t.field({ type: FieldCriterionInput, required: false }),
    event: t.field({ type: EventCriterionInput, required: false }),
    score: t.field({ type: ScoreCriterionInput, required: false }),
    all: t.field({ type: [CriterionInput], required: false, description: 'Every one holds' }),
    any: t.field({ type: [CriterionInput], required: false, description: 'At least one holds' }),
    not: t.field({ type: CriterionInput, required: false, description: 'Does not hold' }),
  }),
});
