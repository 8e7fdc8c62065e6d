import { builder, need } from '../../builder.js';
import { describedValues } from '../../shared/enum-values.js';
import { EVENT_TYPES } from './event.entity.js';
import { MAX_EVENTS, recordEvents } from './event.service.js';

export const EventTypeEnum = builder.enumType('EventType', {
  description: 'What a contact did (or what was done to them), as recorded by recordEvents or tracking.',
  values: describedValues(EVENT_TYPES, {
    EMAIL_OPEN: 'Opened an email (the open pixel, GET /t/o/...)',
    EMAIL_CLICK: 'Clicked a link in an email (GET /t/c/...)',
    SMS_CLICK: 'Clicked a link in an SMS',
    FORM_SUBMIT: 'Submitted a form',
    SITE_VISIT: 'Visited a page of the site',
    WEB_BLOCK_CLICK: 'Clicked a block shown on the site',
    UNSUBSCRIBE: 'Unsubscribed',
    EMAIL_SENT: 'Was sent an email',
    SMS_SENT: 'Was sent an SMS',
    BOUNCE:
      'A message to them bounced: an email (recordBounce, or refused when sent) or an SMS (refused by the gateway, or reported not delivered)',
    SMS_DELIVERED: "An SMS reached their phone (the gateway's delivery report)",
  }),
});

const EventInput = builder.inputType('EventInput', {
  description: 'One behaviour event of a contact of your account.',
  fields: (t) => ({
    contactId: t.id({ required: true, description: 'A contact of your account' }),
    type: t.field({ type: EventTypeEnum, required: true, description: 'What happened' }),
    occurredAt: t.field({
      type: 'DateTime',
      required: false,
      description: 'When it happened; default now, at most 5 minutes in the future',
    }),
    operationId: t.id({
      required: false,
      description: 'The Emailing or SMS operation it belongs to (a UUID)',
    }),
    formId: t.id({ required: false, description: 'The form it belongs to (a UUID)' }),
    url: t.string({ required: false, description: 'The page or link, at most 2000 characters' }),
  }),
});

builder.mutationField('recordEvents', (t) =>
  t.withAuth(need('CONTACTS', 'EDITOR')).int({
    description: `Appends behaviour events, all or nothing: at most ${MAX_EVENTS} per call. On bad items the error lists each (index, message) in extensions.items and nothing is recorded. Returns the count recorded (events change no object a client caches; scores follow at the next computation).`,
    args: {
      events: t.arg({
        type: [EventInput],
        required: true,
        description: `The events, 1 to ${MAX_EVENTS}`,
      }),
    },
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
