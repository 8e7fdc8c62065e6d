import { builder, need, needSome } from '../../builder.js';
import {
  mergeDataOf,
  type RenderedEmail,
  type RenderedMessage,
  type RenderedSms,
  renderOperationMessage,
} from './operation.preview.js';
import { OPERATION_FEATURES } from './operation.rights.js';
import { readOperation } from './operation.service.js';
import {
  MAX_TEST_RECIPIENTS,
  sendTestOperation,
  TEST_SENDS_PER_HOUR,
  type TestSendRecipient,
  type TestSendResult,
} from './operation.test-send.js';
import { OperationKindEnum, OperationRef } from './operation.types.js';

const RenderedEmailRef = builder.objectRef<RenderedEmail>('RenderedEmail').implement({
  description: 'An Emailing as one contact receives it. A computed value, not stored: no id.',
  fields: (t) => ({
    subject: t.exposeString('subject', { description: 'The subject, merge tags filled' }),
    preheader: t.exposeString('preheader', { nullable: true, description: 'The preheader, filled' }),
    html: t.exposeString('html', { description: 'The HTML part, values HTML-escaped' }),
    text: t.exposeString('text', { description: 'The text part (derived from the HTML when not given)' }),
    fromName: t.string({ nullable: true, description: 'The sender name', resolve: (e) => e.from.name }),
    fromEmail: t.string({ description: 'The from address', resolve: (e) => e.from.address }),
    replyTo: t.exposeString('replyTo', { nullable: true, description: 'The reply-to address' }),
  }),
});

const RenderedSmsRef = builder.objectRef<RenderedSms>('RenderedSms').implement({
  description: 'An SMS as one contact receives it. A computed value, not stored: no id.',
  fields: (t) => ({
    text: t.exposeString('text', { description: 'The text, merge tags filled' }),
    senderId: t.exposeString('senderId', { description: 'The sender id' }),
    encoding: t.exposeString('encoding', { description: 'GSM_7 or UCS_2, of the filled text' }),
    characters: t.exposeInt('characters', { description: 'Characters as the encoding counts them' }),
    parts: t.exposeInt('parts', { description: 'Parts the filled text is sent in' }),
  }),
});

const PreviewRef = builder.objectRef<RenderedMessage>('OperationPreview').implement({
  description:
    'The message of an operation rendered for one contact: exactly what the sender renders. A one-off answer: no id.',
  fields: (t) => ({
    kind: t.field({ type: OperationKindEnum, description: 'EMAILING or SMS', resolve: (m) => m.kind }),
    email: t.field({
      type: RenderedEmailRef,
      nullable: true,
      description: 'For an Emailing',
      resolve: (m) => (m.kind === 'EMAILING' ? m.email : null),
    }),
    sms: t.field({
      type: RenderedSmsRef,
      nullable: true,
      description: 'For an SMS',
      resolve: (m) => (m.kind === 'SMS' ? m.sms : null),
    }),
  }),
});

builder.queryField('renderOperationPreview', (t) =>
  t.withAuth({ $all: { ...needSome(OPERATION_FEATURES, 'GUEST'), ...need('CONTACTS', 'GUEST') } }).field({
    type: PreviewRef,
    description:
      "The operation's message as this contact would receive it (GUEST in the operation's kind, and CONTACTS >= GUEST: it shows the contact's data). NOT_FOUND for another account's operation or contact; BAD_USER_INPUT when a template fails to render.",
    args: {
      id: t.arg.id({ required: true, description: 'The operation' }),
      contactId: t.arg.id({ required: true, description: 'The contact whose data fills the merge tags' }),
    },
    resolve: async (_r, args, ctx) => {
      const op = await readOperation(ctx, String(args.id));
      return renderOperationMessage(op.kind, op.content, await mergeDataOf(ctx, String(args.contactId)));
    },
  }),
);

const TestDeliveryEnum = builder.enumType('TestDelivery', {
  description: 'What became of one test message',
  values: {
    SENT: { description: 'Handed over: the SMTP server or the SMS gateway accepted it' },
    REJECTED: { description: 'Refused for this recipient (SMTP 5xx at RCPT, gateway 4xx)' },
    FAILED: { description: 'Not handed over: the server or gateway did not answer or failed' },
  },
});

const TestSendRecipientRef = builder.objectRef<TestSendRecipient>('TestSendRecipient').implement({
  description: 'One recipient of a test send. A one-off answer: no id.',
  fields: (t) => ({
    to: t.exposeString('to', { description: 'The email address or phone number, normalised' }),
    status: t.field({
      type: TestDeliveryEnum,
      description: 'SENT, REJECTED or FAILED',
      resolve: (r) => r.status,
    }),
    response: t.exposeString('response', { description: "The server's or gateway's answer, or the failure" }),
  }),
});

const TestSendResultRef = builder.objectRef<TestSendResult>('TestSendResult').implement({
  description: 'What a test send did. A one-off answer: no id.',
  fields: (t) => ({
    operation: t.field({
      type: OperationRef,
      description: 'The operation tested',
      resolve: (r) => r.operation,
    }),
    recipients: t.field({
      type: [TestSendRecipientRef],
      description: 'One per distinct recipient, in the order given',
      resolve: (r) => r.recipients,
    }),
    remaining: t.exposeInt('remaining', {
      description: `Test messages the operation may still send this hour (of ${TEST_SENDS_PER_HOUR})`,
    }),
  }),
});

builder.mutationField('sendTestOperation', (t) =>
  t.withAuth(needSome(OPERATION_FEATURES, 'EDITOR')).field({
    type: TestSendResultRef,
    description: `Sends the operation's message, marked as a test ("[TEST] " before the subject or text, header X-Cible-Test: 1), to 1 to ${MAX_TEST_RECIPIENTS} active users of the account: their emails for an EMAILING, their phones for an SMS (EDITOR in its kind). Any state. BAD_USER_INPUT for another address or incomplete content; RATE_LIMITED past ${TEST_SENDS_PER_HOUR} test messages per operation per hour. Audited.`,
    args: {
      id: t.arg.id({ required: true, description: 'The operation' }),
      to: t.arg.stringList({
        required: true,
        description: `1 to ${MAX_TEST_RECIPIENTS} emails or phones of active users of the account`,
      }),
      contactId: t.arg.id({
        required: false,
        description:
          "Fill the merge tags with this contact's data (needs CONTACTS >= GUEST); without it, tags show their defaults",
      }),
    },
    resolve: (_r, args, ctx) =>
      sendTestOperation(
        ctx,
        String(args.id),
        args.to,
        args.contactId == null ? null : String(args.contactId),
      ),
  }),
);
