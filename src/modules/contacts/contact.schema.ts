import { type BuilderTypes, builder, need } from '../../builder.js';
import { batched } from '../../shared/batch.js';
import { connection } from '../../shared/pagination.js';
import { EMAIL_STATUSES, FIELD_TYPES } from './contact.entity.js';
import {
  CONTACT_ORDERS,
  type ContactView,
  createContact,
  defineContactField,
  deleteContacts,
  findContact,
  listContacts,
  MAX_DELETE,
  updateContact,
} from './contact.service.js';
import { loadFields } from './fields.js';

export const FieldTypeEnum = builder.enumType('FieldType', { values: FIELD_TYPES });
export const EmailStatusEnum = builder.enumType('EmailStatus', {
  description: 'VALID until a bounce, a complaint or an unsubscribe says otherwise.',
  values: EMAIL_STATUSES,
});

const FieldValueRef = builder
  .objectRef<{ name: string; type: string; value: string | null }>('ContactFieldValue')
  .implement({
    description: 'A custom field value; NUMBER values are exact decimals written as text.',
    fields: (t) => ({
      name: t.exposeString('name'),
      type: t.field({ type: FieldTypeEnum, resolve: (v) => v.type as (typeof FIELD_TYPES)[number] }),
      value: t.exposeString('value', { nullable: true }),
    }),
  });

export const ContactRef = builder.objectRef<ContactView>('Contact').implement({
  description: 'A contact of the account.',
  fields: (t) => ({
    id: t.exposeID('id'),
    email: t.exposeString('email', { nullable: true }),
    phone: t.exposeString('phone', { nullable: true }),
    firstName: t.exposeString('first_name', { nullable: true }),
    lastName: t.exposeString('last_name', { nullable: true }),
    gender: t.exposeString('gender', { nullable: true }),
    birthDate: t.exposeString('birth_date', { nullable: true, description: 'YYYY-MM-DD' }),
    city: t.exposeString('city', { nullable: true }),
    department: t.exposeString('department', { nullable: true }),
    country: t.exposeString('country', { nullable: true }),
    emailStatus: t.field({
      type: EmailStatusEnum,
      resolve: (c) => c.email_status as (typeof EMAIL_STATUSES)[number],
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
    createdAt: t.field({ type: 'DateTime', resolve: (c) => c.created_at }),
    updatedAt: t.field({ type: 'DateTime', resolve: (c) => c.updated_at }),
  }),
});

const ContactFieldRef = builder
  .objectRef<{ name: string; label: string; type: string }>('ContactFieldDefinition')
  .implement({
    fields: (t) => ({
      name: t.exposeString('name'),
      label: t.exposeString('label'),
      type: t.field({ type: FieldTypeEnum, resolve: (f) => f.type as (typeof FIELD_TYPES)[number] }),
    }),
  });

const FieldValueInput = builder.inputType('ContactFieldValueInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: 'A custom field defined with defineContactField' }),
    value: t.string({
      required: false,
      description: 'As text: "12.50", "2026-01-31", "true"; null clears it',
    }),
  }),
});

/** The writable fields of a contact, shared by its create and update inputs. */
const contactInputFields = (t: PothosSchemaTypes.InputFieldBuilder<BuilderTypes, 'InputObject'>) => ({
  email: t.string({ required: false }),
  phone: t.string({ required: false }),
  firstName: t.string({ required: false }),
  lastName: t.string({ required: false }),
  gender: t.string({ required: false }),
  birthDate: t.string({ required: false, description: 'YYYY-MM-DD' }),
  city: t.string({ required: false }),
  department: t.string({ required: false }),
  country: t.string({ required: false }),
  fields: t.field({ type: [FieldValueInput], required: false }),
});

export const CreateContactInput = builder.inputType('CreateContactInput', {
  description: 'Standard fields and custom field values. Emails and phones are validated and normalised.',
  fields: contactInputFields,
});

const UpdateContactInput = builder.inputType('UpdateContactInput', {
  description: 'Only the fields given change; null clears a field.',
  fields: (t) => ({
    id: t.id({ required: true }),
    ...contactInputFields(t),
  }),
});

const ContactFilterInput = builder.inputType('ContactFilter', {
  fields: (t) => ({
    search: t.string({ required: false, description: 'Part of the email, first or last name, or phone' }),
    emailStatus: t.field({ type: EmailStatusEnum, required: false }),
    country: t.string({ required: false }),
    city: t.string({ required: false }),
  }),
});

const ContactOrderField = builder.enumType('ContactOrderField', {
  values: Object.keys(CONTACT_ORDERS) as (keyof typeof CONTACT_ORDERS)[],
});
const ContactOrderInput = builder.inputType('ContactOrder', {
  fields: (t) => ({
    field: t.field({ type: ContactOrderField, required: true }),
    desc: t.boolean({ required: false, defaultValue: false }),
  }),
});

builder.queryField('contacts', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: connection('Contact', ContactRef),
    description: 'Contacts of the account, filtered and sorted; at most 200 per page.',
    args: {
      filter: t.arg({ type: ContactFilterInput, required: false }),
      orderBy: t.arg({ type: ContactOrderInput, required: false }),
      first: t.arg.int({ required: false }),
      after: t.arg.string({ required: false }),
    },
    resolve: (_r, args, ctx) =>
      listContacts(
        ctx,
        args.filter ?? {},
        { field: args.orderBy?.field ?? 'ID', desc: args.orderBy?.desc ?? false },
        args.first,
        args.after,
      ),
  }),
);

builder.queryField('contact', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: ContactRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => findContact(ctx.em, ctx.viewer.accountId, String(args.id)),
  }),
);

builder.queryField('contactFields', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: [ContactFieldRef],
    description: 'Custom fields defined for the account.',
    resolve: async (_r, _a, ctx) =>
      ctx.em
        .getConnection()
        .execute<{ name: string; label: string; type: string }[]>(
          'select name, label, type from contact_field where account_id = ? order by name',
          [ctx.viewer.accountId],
        ),
  }),
);

builder.mutationField('createContact', (t) =>
  t.withAuth(need('CONTACTS', 'EDITOR')).field({
    type: ContactRef,
    description:
      'Creates a contact. If one already has the same unique key (settings.uniqueKey): CONFLICT with rejectDuplicates, else the values merge into it and it is returned.',
    args: { input: t.arg({ type: CreateContactInput, required: true }) },
    resolve: (_r, { input }, ctx) => createContact(ctx, input),
  }),
);

builder.mutationField('updateContact', (t) =>
  t.withAuth(need('CONTACTS', 'EDITOR')).field({
    type: ContactRef,
    args: { input: t.arg({ type: UpdateContactInput, required: true }) },
    resolve: (_r, { input }, ctx) => updateContact(ctx, String(input.id), input),
  }),
);

builder.mutationField('deleteContacts', (t) =>
  t.withAuth(need('CONTACTS', 'EDITOR')).idList({
    description: `Deletes contacts with their events and bounces; returns the ids deleted (unknown ids are skipped). At most ${MAX_DELETE}.`,
    args: { ids: t.arg.idList({ required: true }) },
    resolve: (_r, args, ctx) => deleteContacts(ctx, args.ids.map(String)),
  }),
);

const DefineContactFieldInput = builder.inputType('DefineContactFieldInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: 'Letters, digits, _; starts with a letter; max 63' }),
    label: t.string({ required: false }),
    type: t.field({ type: FieldTypeEnum, required: true }),
  }),
});

builder.mutationField('defineContactField', (t) =>
  t.withAuth(need('CONTACTS', 'EDITOR')).field({
    type: ContactFieldRef,
    description: 'Adds a typed custom field (TEXT, NUMBER as exact decimal, DATE, BOOLEAN).',
    args: { input: t.arg({ type: DefineContactFieldInput, required: true }) },
    resolve: (_r, { input }, ctx) => defineContactField(ctx, input),
  }),
);
