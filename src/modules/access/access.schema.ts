import { builder } from '../../builder.js';
import { describedValues } from '../../shared/enum-values.js';
import { ACCESS_LEVELS, FEATURES } from './access.js';

export const FeatureEnum = builder.enumType('Feature', {
  description: 'A part of the account; each user has one access level per feature.',
  values: describedValues(FEATURES, {
    CONTACTS:
      'Contacts, custom fields, events, imports, bounces and scores. GUEST reads and subscribes, EDITOR writes, APPROVER launches score computations',
    EMAILINGS: 'Email operations and their statistics (no operation of the API uses it yet)',
    SMS: 'SMS operations and their statistics (no operation of the API uses it yet)',
    FORMS: 'Forms, surveys and their submissions (no operation of the API uses it yet)',
    INVOICES:
      'Invoices, credit purchases, usage and balances, prices and costs. GUEST reads them, EDITOR edits billing details and requests purchases, APPROVER approves or rejects purchases and issues credit notes',
    USERS:
      "Users and their rights. GUEST lists users and reads everyone's history, EDITOR edits, disables and deletes users, APPROVER invites and changes rights",
    SETTINGS: 'Account settings. GUEST reads them, EDITOR changes them',
    WEBHOOKS: 'Webhooks and their deliveries (no operation of the API uses it yet)',
  }),
});

export const AccessLevelEnum = builder.enumType('AccessLevel', {
  description:
    'Ordered NONE < GUEST < EDITOR < APPROVER. GUEST reads, EDITOR also creates/edits/deletes, APPROVER also validates (sends, publishes, grants, activates).',
  values: describedValues(ACCESS_LEVELS, {
    NONE: 'No access: the feature is hidden (FORBIDDEN)',
    GUEST: 'Reads the feature and subscribes to its live updates',
    EDITOR: 'GUEST, and creates, edits and deletes',
    APPROVER: 'EDITOR, and validates: what leaves the draft state (sending, publishing, granting rights)',
  }),
});

// An embedded value of its User (one per feature), always read through User.rights: no id.
export const RightRef = builder
  .objectRef<{ feature: (typeof FEATURES)[number]; level: (typeof ACCESS_LEVELS)[number] }>('Right')
  .implement({
    description:
      "A user's access level in one feature. An embedded value of its User, so it has no id of its own.",
    fields: (t) => ({
      feature: t.field({ type: FeatureEnum, description: 'The feature', resolve: (r) => r.feature }),
      level: t.field({
        type: AccessLevelEnum,
        description: 'The level the user has in it',
        resolve: (r) => r.level,
      }),
    }),
  });

export const RightInput = builder.inputType('RightInput', {
  description: 'An access level to give in one feature.',
  fields: (t) => ({
    feature: t.field({ type: FeatureEnum, required: true, description: 'The feature' }),
    level: t.field({
      type: AccessLevelEnum,
      required: true,
      description: 'The level to give; never above your own in that feature',
    }),
  }),
});
