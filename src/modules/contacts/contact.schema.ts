import { type BuilderTypes, builder, need } from '../../builder.js';
import { batched } from '../../shared/batch.js';
import { describedValues } from '../../shared/enum-values.js';
import { connection, pageInOrder } from '../../shared/pagination.js';
import { contactOrderName, contactsAfter } from './contact.cursor.js';
import { EMAIL_STATUSES, FIELD_TYPES, SMS_STATUSES } from './contact.entity.js';
import {
  CONTACT_ORDERS,
  type ContactView,
  createContact,
  deleteContacts,
  findContact,
  listContacts,
  MAX_DELETE,
  updateContact,
} from './contact.service.js';
import { loadFields } from './fields.js';

export const FieldTypeEnum = builder.enumType('FieldType', {
  description: 'The type of a contact field; values travel as text in every type.',
  values: describedValues(FIELD_TYPES, {
    TEXT: 'Text, at most 1000 characters for a custom field',
    NUMBER:
      'An exact decimal, up to 15 digits before the point and 6 after, kept as text ("12.50"; a comma is read as the point)',
    DATE: 'A calendar date, YYYY-MM-DD, of the years 0001 to 9999',
    BOOLEAN: 'true or false (also read from 1/0, yes/no, oui/non)',
  }),
});
export const EmailStatusEnum = builder.enumType('EmailStatus', {
  description: 'VALID until a bounce, a complaint or an unsubscribe says otherwise.',
  values: describedValues(EMAIL_STATUSES, {
    VALID: 'Nothing known against sending to this address',
    SOFT_BOUNCED: 'A temporary failure (mailbox full, server down); sending may work again',
    HARD_BOUNCED: 'A permanent failure: the address does not work',
    COMPLAINED: 'The recipient reported a mail as spam (an ARF complaint)',
    UNSUBSCRIBED: 'The contact asked not to receive mail',
    UNCONFIRMED:
      'Signed up through a double opt-in form and has not followed the confirmation link yet: not sent to',
  }),
});

export const SmsStatusEnum = builder.enumType('SmsStatus', {
  description:
    'SUBSCRIBED until the contact replies STOP to one of our SMS, or the gateway reports the number undeliverable.',
  values: describedValues(SMS_STATUSES, {
    SUBSCRIBED: 'SMS may be sent to this contact',
    OPTED_OUT: 'The contact replied STOP (or a like word); START opts back in',
    INVALID:
      'An SMS to the number was reported undeliverable (FAILED) by the gateway; not sent to until a START reply',
  }),
});

const FieldValueRef = builder
  .objectRef<{ name: string; type: string; value: string | null }>('ContactFieldValue')
  .implement({
    description:
      'A custom field value; NUMBER values are exact decimals written as text. An embedded value of its Contact, so it has no id.',
    fields: (t) => ({
      name: t.exposeString('name', { description: 'The custom field, as defined with defineContactField' }),
      type: t.field({
        type: FieldTypeEnum,
        description: 'The type of the field',
        resolve: (v) => v.type as (typeof FIELD_TYPES)[number],
      }),
      value: t.exposeString('value', {
        nullable: true,
        description: 'As text: "12.50" (NUMBER), "2026-01-31" (DATE), "true" (BOOLEAN), or the text itself',
      }),
    }),
  });

export const ContactRef = builder.objectRef<ContactView>('Contact').implement({
  description: 'A contact of the account.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identity, also for client caches' }),
    email: t.exposeString('email', {
      nullable: true,
      description: 'Lower-cased and validated, at most 320 characters',
    }),
    phone: t.exposeString('phone', {
      nullable: true,
      description: 'Digits with an optional leading +, 6 to 15 digits',
    }),
    firstName: t.exposeString('first_name', { nullable: true, description: 'At most 200 characters' }),
    lastName: t.exposeString('last_name', { nullable: true, description: 'At most 200 characters' }),
    gender: t.exposeString('gender', { nullable: true, description: 'Free text, at most 20 characters' }),
    birthDate: t.exposeString('birth_date', { nullable: true, description: 'YYYY-MM-DD' }),
    city: t.exposeString('city', { nullable: true, description: 'At most 200 characters' }),
    department: t.exposeString('department', {
      nullable: true,
      description: 'Region or department, at most 100 characters',
    }),
    country: t.exposeString('country', { nullable: true, description: 'Free text, at most 100 characters' }),
    emailStatus: t.field({
      type: EmailStatusEnum,
      description: 'Whether mail to this contact can be sent, as bounces and complaints tell',
      resolve: (c) => c.email_status as (typeof EMAIL_STATUSES)[number],
    }),
    smsStatus: t.field({
      type: SmsStatusEnum,
      description: 'Whether SMS to this contact can be sent, as its STOP and START replies tell',
      resolve: (c) => c.sms_status as (typeof SMS_STATUSES)[number],
    }),
    fields: t.field({
      type: [FieldValueRef],
      description: 'Custom field values that are set, by field name.',
      resolve: async (c, _a, ctx) => {
        // Batched (shared/batch.ts): read once per tick for a page of contacts, never kept, so a
        // field defined later in the same operation is seen.
        const defs = await batched(ctx.em, 'contact.fieldDefs', c.account_id, async (accounts) => {
          const loaded = await Promise.all(
            accounts.map(async (a) => [a, await loadFields(ctx.em, a)] as const),
          );
          return new Map(loaded);
        });
        return Object.entries(c.fields ?? {}).map(([name, value]) => ({
          name,
          type: defs?.get(name)?.type ?? 'TEXT',
          value: value === null ? null : String(value),
        }));
      },
    }),
    createdAt: t.field({
      type: 'DateTime',
      description: 'When it was created',
      resolve: (c) => c.created_at,
    }),
    updatedAt: t.field({
      type: 'DateTime',
      description: 'When it was last written (an update, a merge, a bounce)',
      resolve: (c) => c.updated_at,
    }),
  }),
});

const FieldValueInput = builder.inputType('ContactFieldValueInput', {
  description: 'A value for one custom field.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'A custom field defined with defineContactField' }),
    value: t.string({
      required: false,
      description:
        'As text, checked against the field type: "12.50" (NUMBER), "2026-01-31" (DATE), "true" (BOOLEAN), at most 1000 characters (TEXT); null or "" clears it',
    }),
  }),
});

/** The writable fields of a contact, shared by its create and update inputs. */
const contactInputFields = (t: PothosSchemaTypes.InputFieldBuilder<BuilderTypes, 'InputObject'>) => ({
  email: t.string({
    required: false,
    description: 'Validated and lower-cased, at most 320 characters',
  }),
  phone: t.string({
    required: false,
    description: 'Spaces, dots, dashes and brackets are dropped; then 6 to 15 digits with an optional +',
  }),
  firstName: t.string({ required: false, description: 'At most 200 characters' }),
  lastName: t.string({ required: false, description: 'At most 200 characters' }),
  gender: t.string({ required: false, description: 'Free text, at most 20 characters' }),
  birthDate: t.string({
    required: false,
    description: 'A real calendar date, YYYY-MM-DD, of the years 0001 to 9999',
  }),
  city: t.string({ required: false, description: 'At most 200 characters' }),
  department: t.string({ required: false, description: 'At most 100 characters' }),
  country: t.string({ required: false, description: 'At most 100 characters' }),
  fields: t.field({
    type: [FieldValueInput],
    required: false,
    description: 'Custom field values; fields not listed keep their value',
  }),
});

export const CreateContactInput = builder.inputType('CreateContactInput', {
  description: 'Standard fields and custom field values. Emails and phones are validated and normalised.',
  fields: contactInputFields,
});

const UpdateContactInput = builder.inputType('UpdateContactInput', {
  description: 'Only the fields given change; null clears a field.',
  fields: (t) => ({
    id: t.id({ required: true, description: 'The contact to change' }),
    ...contactInputFields(t),
  }),
});

const ContactFilterInput = builder.inputType('ContactFilter', {
  description: 'All conditions given must hold.',
  fields: (t) => ({
    search: t.string({
      required: false,
      description: 'Part of the email, first or last name (any case), or phone',
    }),
    emailStatus: t.field({ type: EmailStatusEnum, required: false, description: 'Only this status' }),
    country: t.string({ required: false, description: 'Only this country, exactly but in any case' }),
    city: t.string({ required: false, description: 'Only this city, exactly but in any case' }),
  }),
});

const ContactOrderField = builder.enumType('ContactOrderField', {
  description: 'What contacts are sorted by; ties are broken by id, in the same direction.',
  values: describedValues(Object.keys(CONTACT_ORDERS) as (keyof typeof CONTACT_ORDERS)[], {
    ID: 'Creation order (ids increase)',
    EMAIL: 'Email; a contact without one sorts as empty text (first when ascending)',
    LAST_NAME: 'Last name; a contact without one sorts as empty text (first when ascending)',
    CREATED_AT: 'Creation time',
  }),
});
const ContactOrderInput = builder.inputType('ContactOrder', {
  description: 'A sort order of contacts.',
  fields: (t) => ({
    field: t.field({ type: ContactOrderField, required: true, description: 'The sort key' }),
    desc: t.boolean({ required: false, defaultValue: false, description: 'true: descending' }),
  }),
});

builder.queryField('contacts', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: connection('Contact', ContactRef),
    description: 'Contacts of the account, filtered and sorted; at most 200 per page.',
    args: {
      filter: t.arg({
        type: ContactFilterInput,
        required: false,
        description: 'Which contacts; all by default',
      }),
      orderBy: t.arg({
        type: ContactOrderInput,
        required: false,
        description: 'Sort order; by id ascending by default. Keep it the same from page to page',
      }),
      first: t.arg.int({ required: false, description: 'Contacts per page, 1 to 200, default 50' }),
      after: t.arg.string({
        required: false,
        description: 'The endCursor (or an edge cursor) of the previous page, with the same orderBy',
      }),
    },
    resolve: async (_r, args, ctx, info) => {
      const order = { field: args.orderBy?.field ?? 'ID', desc: args.orderBy?.desc ?? false };
      // Cursors name their order: one from a page in another order is refused, not misread.
      const page = await listContacts(
        ctx,
        args.filter ?? {},
        order,
        args.first,
        contactsAfter(args.after, order),
        info, // reads only the columns the selection needs
      );
      return pageInOrder(page, contactOrderName(order));
    },
  }),
);

builder.queryField('contact', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: ContactRef,
    nullable: true,
    description: "One contact of the account; NOT_FOUND for unknown ids, including other accounts'.",
    args: { id: t.arg.id({ required: true, description: 'The contact' }) },
    resolve: (_r, args, ctx) => findContact(ctx.em, ctx.viewer.accountId, String(args.id)),
  }),
);

builder.mutationField('createContact', (t) =>
  t.withAuth(need('CONTACTS', 'EDITOR')).field({
    type: ContactRef,
    description:
      'Creates a contact. If one already has the same unique key (settings.uniqueKey): CONFLICT with rejectDuplicates, else the values merge into it and it is returned.',
    args: { input: t.arg({ type: CreateContactInput, required: true, description: 'The contact' }) },
    resolve: (_r, { input }, ctx) => createContact(ctx, input),
  }),
);

builder.mutationField('updateContact', (t) =>
  t.withAuth(need('CONTACTS', 'EDITOR')).field({
    type: ContactRef,
    description:
      'Changes the fields given of one contact and returns it. CONFLICT when the new unique key value belongs to another contact.',
    args: {
      input: t.arg({ type: UpdateContactInput, required: true, description: 'The contact and what changes' }),
    },
    resolve: (_r, { input }, ctx) => updateContact(ctx, String(input.id), input),
  }),
);

builder.mutationField('deleteContacts', (t) =>
  t.withAuth(need('CONTACTS', 'EDITOR')).idList({
    description: `Deletes contacts with their events and bounces; returns the ids deleted (unknown ids are skipped). At most ${MAX_DELETE}.`,
    args: { ids: t.arg.idList({ required: true, description: `The contacts, 1 to ${MAX_DELETE}` }) },
    resolve: (_r, args, ctx) => deleteContacts(ctx, args.ids.map(String)),
  }),
);
