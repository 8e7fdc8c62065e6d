import { builder } from '../../builder.js';
import { connection } from '../../shared/pagination.js';
import {
  FIELD_KINDS,
  FORM_KINDS,
  FORM_STATUSES,
  type FormDefinition,
  type FormField,
  type FormSettings,
  QUESTION_KINDS,
  type SurveyQuestion,
} from './form.definition.js';
import type { ChoiceCount, FormResults, ItemResult } from './form.results.js';
import type { SubmissionView } from './form.submissions.js';
import type { PublicForm, SubmitResult } from './form.submit.js';

/* The types of forms' GraphQL schema (form.schema.ts has the Form type and the root fields). */

const values = <T extends string>(names: readonly T[], docs: Record<T, string>) =>
  Object.fromEntries(names.map((n) => [n, { description: docs[n] }]));

export const FormKindEnum = builder.enumType('FormKind', {
  description: 'A form collects contacts; a survey also asks questions and shows results',
  values: values(FORM_KINDS, { FORM: 'Fields that fill contacts', SURVEY: 'Fields and questions' }),
});
export const FormStatusEnum = builder.enumType('FormStatus', {
  description: 'Where a form stands; only PUBLISHED takes submissions',
  values: values(FORM_STATUSES, {
    DRAFT: 'Never published; edited and deleted by editors',
    PUBLISHED: 'Its published version answers; its draft may hold unpublished changes',
    UNPUBLISHED: 'Taken down by an approver: the page and the endpoint answer that it is not available',
    CLOSED: 'Closed by an approver: the page says so; submissions stay',
  }),
});
export const FieldKindEnum = builder.enumType('FormFieldKind', {
  description: 'How a form field is asked and checked',
  values: values(FIELD_KINDS, {
    TEXT: 'Free text (min and max bound its length)',
    EMAIL: "An email address; fills the contact's email",
    PHONE: "A phone number; fills the contact's phone unless contactField says otherwise",
    NUMBER: 'A number (min and max bound it)',
    DATE: 'A calendar date, YYYY-MM-DD',
    CHECKBOX: 'Yes or no',
    SELECT: 'One of options, in a list',
    RADIO: 'One of options, as buttons',
    HIDDEN: 'Not shown: defaultValue is carried (a source, a campaign)',
    CONSENT: 'A consent to tick; stored with its text, time, address and the form version',
  }),
});
export const QuestionKindEnum = builder.enumType('SurveyQuestionKind', {
  description: 'How a survey question is answered',
  values: values(QUESTION_KINDS, {
    SINGLE_CHOICE: 'One of options',
    MULTIPLE_CHOICE: 'Any of options',
    TEXT: 'Free text',
    RATING: 'A whole number from 1 to scale (5 or 10)',
    NPS: 'Net Promoter Score: 0 to 10',
  }),
});

export const FieldRef = builder.objectRef<FormField>('FormField').implement({
  description: 'One input of a form. An embedded value of its form (key is unique in it), so it has no id.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'Its name in the page, the answers and the export' }),
    kind: t.field({ type: FieldKindEnum, description: 'How it is asked', resolve: (f) => f.kind }),
    label: t.exposeString('label', {
      description: 'What the visitor reads (a CONSENT: the text consented to)',
    }),
    required: t.exposeBoolean('required', { description: 'A submission without it is refused' }),
    contactField: t.exposeString('contactField', {
      nullable: true,
      description: 'The contact field it fills',
    }),
    options: t.exposeStringList('options', { nullable: true, description: 'SELECT and RADIO: the choices' }),
    min: t.exposeFloat('min', { nullable: true, description: 'TEXT: least length; NUMBER: least value' }),
    max: t.exposeFloat('max', { nullable: true, description: 'TEXT: longest length; NUMBER: largest value' }),
    defaultValue: t.exposeString('defaultValue', {
      nullable: true,
      description: 'HIDDEN: the value carried',
    }),
  }),
});

export const QuestionRef = builder.objectRef<SurveyQuestion>('SurveyQuestion').implement({
  description:
    'One question of a survey. An embedded value of its form (key is unique in it), so it has no id.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'Its name in the page, the answers and the export' }),
    kind: t.field({ type: QuestionKindEnum, description: 'How it is answered', resolve: (q) => q.kind }),
    label: t.exposeString('label', { description: 'The question' }),
    required: t.exposeBoolean('required', { description: 'A submission without an answer is refused' }),
    options: t.exposeStringList('options', { nullable: true, description: 'Choice questions: the choices' }),
    scale: t.exposeInt('scale', { nullable: true, description: 'RATING: 5 or 10; NPS: 10' }),
  }),
});

export const SettingsRef = builder.objectRef<FormSettings>('FormSettings').implement({
  description: 'What a form does with a submission. An embedded value of its form, so it has no id.',
  fields: (t) => ({
    successMessage: t.exposeString('successMessage', { description: 'Shown after a submission' }),
    redirectUrl: t.exposeString('redirectUrl', {
      nullable: true,
      description: 'Where the page goes after a submission instead (https)',
    }),
    doubleOptIn: t.exposeBoolean('doubleOptIn', {
      description: 'A new contact is UNCONFIRMED until it follows the link mailed to it',
    }),
    submissionLimit: t.exposeInt('submissionLimit', { nullable: true, description: 'Submissions it takes' }),
    opensAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'Takes nothing before',
      resolve: (s) => s.opensAt,
    }),
    closesAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'Takes nothing after',
      resolve: (s) => s.closesAt,
    }),
    onePerContact: t.exposeBoolean('onePerContact', { description: 'Surveys: one answer per contact' }),
  }),
});

export const ContentRef = builder.objectRef<FormDefinition & { version: number }>('FormVersion').implement({
  description:
    'A published version of a form, as it answers; immutable. An embedded value of its form (the form and the number name it), so it has no id.',
  fields: (t) => ({
    version: t.exposeInt('version', { description: 'Its number, from 1' }),
    fields: t.field({ type: [FieldRef], description: 'Its fields', resolve: (d) => d.fields }),
    questions: t.field({ type: [QuestionRef], description: 'Its questions', resolve: (d) => d.questions }),
    settings: t.field({ type: SettingsRef, description: 'Its settings', resolve: (d) => d.settings }),
  }),
});

const ConsentRef = builder.objectRef<SubmissionView['consents'][number]>('FormConsent').implement({
  description: 'A consent given with a submission. An embedded value of it, so it has no id.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The CONSENT field' }),
    text: t.exposeString('text', { description: 'What was consented to, as the page showed it' }),
    at: t.field({ type: 'DateTime', description: 'When', resolve: (c) => c.at }),
    ip: t.exposeString('ip', { nullable: true, description: 'From which address' }),
    version: t.exposeInt('version', { description: 'The form version shown' }),
  }),
});

const OutcomeEnum = builder.enumType('FormSubmissionOutcome', {
  description: 'What a submission did to its contact',
  values: values(['CREATED', 'MERGED', 'EXISTING'] as const, {
    CREATED: 'Created a new contact',
    MERGED: 'Merged its values into the contact with the same unique key',
    EXISTING: 'Found the contact and left it unchanged (the account rejects duplicates)',
  }),
});

export const SubmissionRef = builder.objectRef<SubmissionView>('FormSubmission').implement({
  description: 'One submission of a form, with its answers and consents.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identity' }),
    formId: t.exposeID('formId', { description: 'The form' }),
    version: t.exposeInt('version', { description: 'The version it answered' }),
    contactId: t.exposeID('contactId', { nullable: true, description: 'Its contact; null once deleted' }),
    outcome: t.field({
      type: OutcomeEnum,
      nullable: true,
      description: 'What it did',
      resolve: (s) => s.outcome,
    }),
    answers: t.field({
      type: 'JSON',
      description: 'Values by field or question key',
      resolve: (s) => s.answers,
    }),
    consents: t.field({ type: [ConsentRef], description: 'Consents given', resolve: (s) => s.consents }),
    confirmationRequired: t.exposeBoolean('confirmationRequired', {
      description: 'A double opt-in mail went out',
    }),
    confirmedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When its link was followed',
      resolve: (s) => s.confirmedAt,
    }),
    createdAt: t.field({ type: 'DateTime', description: 'When it came', resolve: (s) => s.createdAt }),
  }),
});
export const SubmissionConnection = connection('FormSubmission', SubmissionRef);

const ChoiceRef = builder.objectRef<ChoiceCount>('FormChoiceCount').implement({
  description: 'How often a choice or score was given. An embedded value of its result, so it has no id.',
  fields: (t) => ({
    value: t.exposeString('value', { description: 'The choice, or the score as text' }),
    count: t.exposeInt('count', { description: 'Submissions that gave it' }),
  }),
});

const ItemResultRef = builder.objectRef<ItemResult>('FormItemResult').implement({
  description: 'The results of one question (or field). An embedded value of the results, so it has no id.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The question or field' }),
    label: t.exposeString('label', { description: 'Its label' }),
    kind: t.exposeString('kind', { description: 'Its kind (a SurveyQuestionKind or FormFieldKind name)' }),
    answered: t.exposeInt('answered', { description: 'Submissions that answered it' }),
    choices: t.field({
      type: [ChoiceRef],
      description: 'Counts per choice or score',
      resolve: (r) => r.choices,
    }),
    average: t.exposeFloat('average', { nullable: true, description: 'RATING and NPS: the mean score' }),
    promoters: t.exposeInt('promoters', { nullable: true, description: 'NPS: answers of 9 or 10' }),
    passives: t.exposeInt('passives', { nullable: true, description: 'NPS: answers of 7 or 8' }),
    detractors: t.exposeInt('detractors', { nullable: true, description: 'NPS: answers of 0 to 6' }),
    nps: t.exposeFloat('nps', { nullable: true, description: 'NPS: % promoters minus % detractors' }),
  }),
});

export const ResultsRef = builder.objectRef<FormResults>('FormResults').implement({
  description: 'A form’s results over all its submissions. An embedded value of its form, so it has no id.',
  fields: (t) => ({
    submissions: t.exposeInt('submissions', { description: 'Submissions' }),
    completed: t.exposeInt('completed', { description: 'Submissions that answered every question' }),
    completionRate: t.exposeFloat('completionRate', {
      nullable: true,
      description: 'completed / submissions',
    }),
    items: t.field({ type: [ItemResultRef], description: 'Per question', resolve: (r) => r.items }),
  }),
});

const FieldInput = builder.inputType('FormFieldInput', {
  description: 'One input of a form; checked whole at every save.',
  fields: (t) => ({
    key: t.string({ required: true, description: 'A letter, then letters, digits or _ (at most 40)' }),
    kind: t.field({ type: FieldKindEnum, required: true, description: 'How it is asked' }),
    label: t.string({ required: true, description: 'What the visitor reads (at most 500 characters)' }),
    required: t.boolean({ required: false, description: 'Refuse a submission without it (default false)' }),
    contactField: t.string({
      required: false,
      description: 'The contact field it fills: email, phone, firstName, ... or a custom field',
    }),
    options: t.stringList({ required: false, description: 'SELECT and RADIO: 1 to 50 choices' }),
    min: t.float({ required: false, description: 'TEXT: least length; NUMBER: least value' }),
    max: t.float({ required: false, description: 'TEXT: longest length; NUMBER: largest value' }),
    defaultValue: t.string({ required: false, description: 'HIDDEN: the value carried' }),
  }),
});

const QuestionInput = builder.inputType('SurveyQuestionInput', {
  description: 'One question of a survey.',
  fields: (t) => ({
    key: t.string({ required: true, description: 'A letter, then letters, digits or _ (at most 40)' }),
    kind: t.field({ type: QuestionKindEnum, required: true, description: 'How it is answered' }),
    label: t.string({ required: true, description: 'The question (at most 500 characters)' }),
    required: t.boolean({ required: false, description: 'Refuse a submission without an answer' }),
    options: t.stringList({ required: false, description: 'Choice questions: 1 to 50 choices' }),
    scale: t.int({ required: false, description: 'RATING: 5 (default) or 10' }),
  }),
});

const SettingsInput = builder.inputType('FormSettingsInput', {
  description: 'What a form does with a submission; absent parts take their defaults.',
  fields: (t) => ({
    successMessage: t.string({
      required: false,
      description: 'Shown after a submission (default "Thank you!")',
    }),
    redirectUrl: t.string({ required: false, description: 'An https URL to go to instead' }),
    doubleOptIn: t.boolean({ required: false, description: 'Mail a confirmation link to new contacts' }),
    submissionLimit: t.int({ required: false, description: 'Submissions it takes, then it is full' }),
    opensAt: t.field({ type: 'DateTime', required: false, description: 'Takes nothing before' }),
    closesAt: t.field({ type: 'DateTime', required: false, description: 'Takes nothing after' }),
    onePerContact: t.boolean({ required: false, description: 'Surveys: one answer per contact' }),
  }),
});

export const FormCreateInput = builder.inputType('CreateFormInput', {
  description: 'A new form or survey.',
  fields: (t) => ({
    kind: t.field({ type: FormKindEnum, required: true, description: 'Form or survey' }),
    name: t.string({ required: true, description: '1 to 200 characters' }),
    fields: t.field({ type: [FieldInput], required: false, description: 'At most 50' }),
    questions: t.field({ type: [QuestionInput], required: false, description: 'Surveys: at most 50' }),
    settings: t.field({ type: SettingsInput, required: false, description: 'Its settings' }),
  }),
});

export const FormUpdateInput = builder.inputType('UpdateFormInput', {
  description: 'What changes in a draft; a given list replaces the old one.',
  fields: (t) => ({
    name: t.string({ required: false, description: '1 to 200 characters' }),
    fields: t.field({ type: [FieldInput], required: false, description: 'At most 50' }),
    questions: t.field({ type: [QuestionInput], required: false, description: 'Surveys: at most 50' }),
    settings: t.field({ type: SettingsInput, required: false, description: 'Its settings, whole' }),
  }),
});

export const PublicFormRef = builder.objectRef<PublicForm>('PublicForm').implement({
  description:
    'A published form as a visitor sees it. Named by its publicId (the form id stays private), so it has no id.',
  fields: (t) => ({
    publicId: t.exposeString('publicId', { description: 'Its public name' }),
    name: t.exposeString('name', { description: 'Its title' }),
    kind: t.field({ type: FormKindEnum, description: 'Form or survey', resolve: (f) => f.kind }),
    accountName: t.exposeString('accountName', { description: 'Who asks' }),
    fields: t.field({
      type: [FieldRef],
      description: 'Its fields',
      resolve: (f) => f.definition?.fields ?? [],
    }),
    questions: t.field({
      type: [QuestionRef],
      description: 'Its questions',
      resolve: (f) => f.definition?.questions ?? [],
    }),
  }),
});

export const SubmitResultRef = builder.objectRef<SubmitResult>('SubmitFormResult').implement({
  description: 'What a submission answers. An embedded value of submitForm, so it has no id.',
  fields: (t) => ({
    submissionId: t.exposeID('submissionId', { description: 'The submission (the same for a repeated key)' }),
    message: t.exposeString('message', { nullable: true, description: 'The message to show' }),
    redirectUrl: t.exposeString('redirectUrl', { nullable: true, description: 'Or where to go' }),
    confirmationRequired: t.exposeBoolean('confirmationRequired', {
      description: 'A confirmation link was mailed: the subscription counts once it is followed',
    }),
  }),
});
