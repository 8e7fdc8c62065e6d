import { builder, need } from '../../builder.js';
import { EVENT_TYPES } from './event.entity.js';
import { MAX_EVENTS, recordEvents } from './event.service.js';

export const EventTypeEnum = builder.enumType('EventType', { values: EVENT_TYPES });

const EventInput = builder.inputType('EventInput', {
  fields: (t) => ({
    contactId: t.id({ required: true }),
    type: t.field({ type: EventTypeEnum, required: true }),
    occurredAt: t.field({ type: 'DateTime', required: false, description: 'Default: now' }),
    operationId: t.id({ required: false }),
    formId: t.id({ required: false }),
    url: t.string({ required: false, description: 'At most 2000 characters' }),
  }),
});

builder.mutationField('recordEvents', (t) =>
  t.withAuth(need('CONTACTS', 'EDITOR')).int({
    description: `Appends behaviour events, all or nothing: at most ${MAX_EVENTS} per call. On bad items the error lists each (index, message) in extensions.items and nothing is recorded. Returns the count recorded.`,
    args: { events: t.arg({ type: [EventInput], required: true }) },
    resolve: (_r, args, ctx) =>
      recordEvents(
        ctx,
        args.events.map((e) => ({
          ...e,
          contactId: String(e.contactId),
          operationId: e.operationId ? String(e.operationId) : null,
          formId: e.formId ? String(e.formId) : null,
        })),
      ),
  }),
);
