import { builder, need } from '../../builder.js';
import type { FIELD_TYPES } from './contact.entity.js';
import { FieldTypeEnum } from './contact.schema.js';
import { defineContactField } from './contact.service.js';

const ContactFieldRef = builder
  .objectRef<{ id: string; name: string; label: string; type: string }>('ContactFieldDefinition')
  .implement({
    description: 'A custom contact field of the account.',
    fields: (t) => ({
      id: t.exposeID('id', { description: 'Stable identity, also for client caches' }),
      name: t.exposeString('name', {
        description: 'Letters, digits and _, starting with a letter, at most 63; unique in the account',
      }),
      label: t.exposeString('label', { description: 'Shown to people, at most 200 characters' }),
      type: t.field({
        type: FieldTypeEnum,
        description: 'What its values are; fixed once defined',
        resolve: (f) => f.type as (typeof FIELD_TYPES)[number],
      }),
    }),
  });

builder.queryField('contactFields', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: [ContactFieldRef],
    description: 'Custom fields defined for the account, by name.',
    resolve: async (_r, _a, ctx) =>
      ctx.em
        .getConnection()
        .execute<{ id: string; name: string; label: string; type: string }[]>(
          'select id, name, label, type from contact_field where account_id = ? order by name',
          [ctx.viewer.accountId],
        ),
  }),
);

const DefineContactFieldInput = builder.inputType('DefineContactFieldInput', {
  description: 'A new custom contact field.',
  fields: (t) => ({
    name: t.string({
      required: true,
      description:
        'Letters, digits, _; starts with a letter; max 63. CONFLICT when it exists or is a standard field',
    }),
    label: t.string({
      required: false,
      description: 'Shown to people; default the name; cut at 200 characters',
    }),
    type: t.field({ type: FieldTypeEnum, required: true, description: 'What its values are' }),
  }),
});

builder.mutationField('defineContactField', (t) =>
  t.withAuth(need('CONTACTS', 'EDITOR')).field({
    type: ContactFieldRef,
    description: 'Adds a typed custom field (TEXT, NUMBER as exact decimal, DATE, BOOLEAN).',
    args: { input: t.arg({ type: DefineContactFieldInput, required: true, description: 'The field' }) },
    resolve: (_r, { input }, ctx) => defineContactField(ctx, input),
  }),
);
