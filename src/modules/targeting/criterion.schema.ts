import { builder } from '../../builder.js';
import '../../shared/decimal.js';
import { describedValues } from '../../shared/enum-values.js';
import { EmailStatusEnum } from '../contacts/contact.schema.js';
import { EventTypeEnum } from '../events/event.schema.js';
import {
  COMPARE_OPS,
  type Criterion,
  type EmailStatusCriterion,
  type EventCriterion,
  FIELD_OPS,
  type FieldCriterion,
  MAX_DEPTH,
  MAX_IN_VALUES,
  MAX_LEAVES,
  type ScoreCriterion,
  type SegmentCriterion,
  URL_MATCHES,
} from './criterion.js';

export const FieldOpEnum = builder.enumType('CriterionFieldOp', {
  description:
    "TEXT: EQ NEQ IN CONTAINS STARTS_WITH IS_SET IS_NOT_SET (CONTAINS/STARTS_WITH ignore case). NUMBER: EQ NEQ LT LTE GT GTE IN IS_SET IS_NOT_SET. DATE: EQ NEQ LT LTE GT GTE IS_SET IS_NOT_SET, and relative to today in the account's time zone (settings.timeZone), with days: IN_LAST_DAYS IN_NEXT_DAYS MORE_THAN_DAYS_AGO ANNIVERSARY_IN_NEXT_DAYS. BOOLEAN: EQ NEQ IS_SET IS_NOT_SET. NEQ also matches contacts where the field is unset.",
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
    IN_LAST_DAYS: 'DATE only: from days days before today through today (both included)',
    IN_NEXT_DAYS: 'DATE only: from today through days days after today (both included)',
    MORE_THAN_DAYS_AGO: 'DATE only: before the day days days before today',
    ANNIVERSARY_IN_NEXT_DAYS:
      'DATE only: the next anniversary of the date (birthdays; 29 February on the 28th in other years) falls today or within days days (0 to 366)',
  }),
});
export const UrlMatchEnum = builder.enumType('CriterionUrlMatch', {
  description:
    "How an event's URL compares with the criterion's. Scheme and host never depend on case; the path and query do, except with CONTAINS.",
  values: describedValues(URL_MATCHES, {
    EXACT: 'The same URL',
    PREFIX: 'Starts with the URL given (a site section: https://shop.example/sale/)',
    CONTAINS: 'Holds the text given anywhere, ignoring case',
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
  days: 'For IN_LAST_DAYS, IN_NEXT_DAYS, MORE_THAN_DAYS_AGO (0 to 36500) and ANNIVERSARY_IN_NEXT_DAYS (0 to 366): a number of days',
};
const EVENT_DOC = {
  type: 'The event type',
  operationId: 'Only events of this Emailing or SMS operation (a UUID)',
  formId: 'Only events of this form (a UUID)',
  url: 'Only events whose URL matches this one (see urlMatch), at most 2000 characters',
  urlMatch: 'How url compares: EXACT (default), PREFIX or CONTAINS',
  withinDays:
    "Only events since the start of the day withinDays days ago in the account's time zone (today and the withinDays days before), 1 to 3650",
  olderThanDays:
    'Only events before the start of the day olderThanDays days ago, 0 to 3650 (less than withinDays when both are given); 0: before today',
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
    days: t.int({ required: false, description: FIELD_DOC.days }),
  }),
});

const EventCriterionInput = builder.inputType('EventCriterionInput', {
  description:
    'The contact has events of this type (and operation, form, url, in a window of days), at least minCount of them (default 1).',
  fields: (t) => ({
    type: t.field({ type: EventTypeEnum, required: true, description: EVENT_DOC.type }),
    operationId: t.id({ required: false, description: EVENT_DOC.operationId }),
    formId: t.id({ required: false, description: EVENT_DOC.formId }),
    url: t.string({ required: false, description: EVENT_DOC.url }),
    urlMatch: t.field({ type: UrlMatchEnum, required: false, description: EVENT_DOC.urlMatch }),
    withinDays: t.int({ required: false, description: EVENT_DOC.withinDays }),
    olderThanDays: t.int({ required: false, description: EVENT_DOC.olderThanDays }),
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

const SEGMENT_DOC = { segmentId: 'Another segment of the account; no cycles (also through scores)' };
const STATUS_DOC = { in: 'The statuses that match, at least one' };

const SegmentCriterionInput = builder.inputType('SegmentCriterionInput', {
  description: 'The contact is a member of another segment of the account, as it is now.',
  fields: (t) => ({
    segmentId: t.id({ required: true, description: SEGMENT_DOC.segmentId }),
  }),
});

const EmailStatusCriterionInput = builder.inputType('EmailStatusCriterionInput', {
  description: "The contact's email status (consent and deliverability) is one of these.",
  fields: (t) => ({
    in: t.field({ type: [EmailStatusEnum], required: true, description: STATUS_DOC.in }),
  }),
});

export const CriterionInput = builder.inputRef<Record<string, unknown>>('Criterion').implement({
  description: `A targeting criterion, shared by scores, segments and operation audiences: exactly one of field, event, score, segment, emailStatus, hasEmail, hasPhone, all, any, not. At most ${MAX_DEPTH} levels and ${MAX_LEAVES} conditions (segments it names add theirs, up to 500).`,
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
    segment: t.field({
      type: SegmentCriterionInput,
      required: false,
      description: 'Membership of another segment',
    }),
    emailStatus: t.field({
      type: EmailStatusCriterionInput,
      required: false,
      description: "A condition on the contact's email status",
    }),
    hasEmail: t.boolean({
      required: false,
      description: 'true: the contact has an email address; false: none',
    }),
    hasPhone: t.boolean({
      required: false,
      description: 'true: the contact has a phone number; false: none',
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
    days: t.int({ nullable: true, description: FIELD_DOC.days, resolve: (f) => f.days ?? null }),
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
    url: t.string({
      nullable: true,
      description: `${EVENT_DOC.url}. Stored with scheme and host in lower case`,
      resolve: (e) => e.url ?? null,
    }),
    urlMatch: t.field({
      type: UrlMatchEnum,
      nullable: true,
      description: `${EVENT_DOC.urlMatch}; null when there is no url`,
      resolve: (e) => (e.url ? (e.urlMatch ?? 'EXACT') : null),
    }),
    olderThanDays: t.int({
      nullable: true,
      description: EVENT_DOC.olderThanDays,
      resolve: (e) => e.olderThanDays ?? null,
    }),
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

const SegmentCriterionRef = builder.objectRef<SegmentCriterion>('SegmentCriterion').implement({
  description: `Membership of another segment, as SegmentCriterionInput.${embedded}`,
  fields: (t) => ({
    segmentId: t.exposeID('segmentId', { description: SEGMENT_DOC.segmentId }),
  }),
});

const EmailStatusCriterionRef = builder.objectRef<EmailStatusCriterion>('EmailStatusCriterion').implement({
  description: `A condition on the email status, as EmailStatusCriterionInput.${embedded}`,
  fields: (t) => ({
    in: t.field({ type: [EmailStatusEnum], description: STATUS_DOC.in, resolve: (s) => s.in }),
  }),
});

type NodeKey =
  | 'field'
  | 'event'
  | 'score'
  | 'segment'
  | 'emailStatus'
  | 'hasEmail'
  | 'hasPhone'
  | 'all'
  | 'any'
  | 'not';
const pick = <K extends NodeKey>(c: Criterion, k: K) =>
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
    segment: t.field({
      type: SegmentCriterionRef,
      nullable: true,
      description: 'Membership of another segment',
      resolve: (c) => pick(c, 'segment'),
    }),
    emailStatus: t.field({
      type: EmailStatusCriterionRef,
      nullable: true,
      description: "A condition on the contact's email status",
      resolve: (c) => pick(c, 'emailStatus'),
    }),
    hasEmail: t.boolean({
      nullable: true,
      description: 'Whether the contact must have an email address',
      resolve: (c) => pick(c, 'hasEmail'),
    }),
    hasPhone: t.boolean({
      nullable: true,
      description: 'Whether the contact must have a phone number',
      resolve: (c) => pick(c, 'hasPhone'),
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
