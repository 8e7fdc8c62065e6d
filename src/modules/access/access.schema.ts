import { builder } from '../../builder.js';
import { ACCESS_LEVELS, FEATURES } from './access.js';

export const FeatureEnum = builder.enumType('Feature', {
  description: 'A part of the account; each user has one access level per feature.',
  values: FEATURES,
});

export const AccessLevelEnum = builder.enumType('AccessLevel', {
  description:
    'Ordered NONE < GUEST < EDITOR < APPROVER. GUEST reads, EDITOR also creates/edits/deletes, APPROVER also validates (sends, publishes, grants, activates).',
  values: ACCESS_LEVELS,
});

export const RightRef = builder
  .objectRef<{ feature: (typeof FEATURES)[number]; level: (typeof ACCESS_LEVELS)[number] }>('Right')
  .implement({
    fields: (t) => ({
      feature: t.field({ type: FeatureEnum, resolve: (r) => r.feature }),
      level: t.field({ type: AccessLevelEnum, resolve: (r) => r.level }),
    }),
  });

export const RightInput = builder.inputType('RightInput', {
  fields: (t) => ({
    feature: t.field({ type: FeatureEnum, required: true }),
    level: t.field({ type: AccessLevelEnum, required: true }),
  }),
});
