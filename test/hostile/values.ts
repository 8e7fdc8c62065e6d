import { randomUUID } from 'node:crypto';
import { type GraphQLInputType, getNamedType, isEnumType } from 'graphql';
import { encodeCursor } from '../../src/shared/pagination.js';
import { uniqueEmail } from '../harness.js';
import type { InputLeaf } from '../schema-walk.js';
import { type AccountObjects, BOUNCE_DSN, type Fixtures } from './fixtures.js';

/**
 * The values of the hostile suite: one hostile value per class and input type, and the valid
 * values the other arguments get (account A's real objects), so that a hostile value travels as
 * far into the resolver as it can.
 */

/** A value spliced into the JSON body as it is (a 100,000-deep criterion cannot be stringified). */
export class Raw {
  constructor(readonly json: string) {}
}
export type Value = unknown;
/** A hostile value, made once the accounts exist (foreign ids need them). */
export type Make = (fx: Fixtures) => Value;

const MIB = 1024 * 1024;
const huge = 'x'.repeat(MIB);

/** The hostile classes, by named input type. */
export const CLASSES: Record<string, [string, Make][]> = {
  String: [
    ['string.nul', () => 'a\u0000b'],
    ['string.lone-surrogate', () => 'a\ud800b'],
    ['string.1MiB', () => huge],
    ['string.control-chars', () => '\u0001\u0008\u001b[31m\r\n\u007f\u0085\u2028'],
    // 200 characters (the usual limit) that lower-case to 400: a check before normalising passes,
    // a varchar(200) after it does not.
    // Quotes, LIKE wildcards, regex and JSON path syntax, ending with a lone backslash (a LIKE
    // pattern may not end with its escape character: PostgreSQL raises an error).
    ['string.sql-meta', () => `x' "; -- %_ (*+?[{ $.a ?? \\`],
    ['string.lowercase-expands', () => '\u0130'.repeat(200)],
  ],
  Int: [
    ['int.2^31', () => 2 ** 31],
    ['int.-2^31-1', () => -(2 ** 31) - 1],
    ['int.1e20', () => 1e20],
    ['int.nan-ish', () => 'NaN'],
    ['int.fraction', () => 1.5],
    ['int.max', () => 2 ** 31 - 1],
    ['int.min', () => -(2 ** 31)],
  ],
  Float: [
    ['float.huge', () => 1.7976931348623157e308],
    ['float.nan-ish', () => 'Infinity'],
  ],
  Boolean: [['boolean.as-text', () => 'true']],
  DateTime: [
    ['datetime.year-0', () => '0000-01-01T00:00:00Z'],
    ['datetime.+275760', () => '+275760-09-13T00:00:00.000Z'],
    ['datetime.9999', () => '9999-12-31T23:59:59.999Z'],
    ['datetime.malformed', () => '2026-02-30T25:61:61Z'],
    ['datetime.number', () => 1e15],
  ],
  Decimal: [
    ['decimal.as-number', () => 1.25],
    ['decimal.huge', () => '99999999999999999999.9999999'],
    ['decimal.nan', () => 'NaN'],
  ],
  File: [['file.as-text', () => 'name,email\nx,x@example.com\n']],
  ID: [
    ['id.not-an-id', () => 'not-an-id'],
    ['id.huge-number', () => '9'.repeat(40)],
    ['id.negative', () => '-1'],
    ['id.nul', () => '1\u0000'],
    ['id.json-number', () => 42],
  ],
};
export const ENUM_CLASSES: [string, Make][] = [['enum.unknown', () => 'NOT_A_VALUE']];

/** Which object an ID leaf names, by coordinate; the others are free UUIDs (operations, forms). */
export const ID_KIND: Record<string, keyof AccountObjects> = {
  'Query.user(id:)': 'member',
  'AuditFilter.userId': 'member',
  'Mutation.resendInvitation(id:)': 'invitedId',
  'UpdateUserInput.id': 'member',
  'SetUserRightsInput.userId': 'member',
  'Mutation.deleteUser(id:)': 'member',
  'Mutation.disableUser(id:)': 'member',
  'Mutation.enableUser(id:)': 'member',
  'Query.contact(id:)': 'contactId',
  'UpdateContactInput.id': 'contactId',
  'Mutation.deleteContacts(ids:)': 'contactId',
  'EventInput.contactId': 'contactId',
  'Subscription.scoreUpdated(contactId:)': 'contactId',
  'Query.contactImport(id:)': 'importId',
  'ImportContactsInput.id': 'importId',
  'Subscription.importProgress(importId:)': 'importId',
  'Query.score(id:)': 'scoreId',
  'UpdateScoreInput.id': 'scoreId',
  'Mutation.deleteScores(ids:)': 'scoreId',
  'ScoreCriterionInput.scoreId': 'scoreId',
  'Subscription.scoreUpdated(scoreId:)': 'scoreId',
  'Query.segment(id:)': 'segmentId',
  'UpdateSegmentInput.id': 'segmentId',
  'Mutation.deleteSegments(ids:)': 'segmentId',
  'SegmentCriterionInput.segmentId': 'segmentId',
  'Mutation.removeSender(id:)': 'senderId',
  'OperationAudienceInput.segmentIds': 'segmentId',
  'OperationAudienceInput.excludedSegmentIds': 'segmentId',
  'Query.operation(id:)': 'operationId',
  'Query.renderOperationPreview(id:)': 'operationId',
  'Mutation.duplicateOperation(id:)': 'operationId',
  'Mutation.sendTestOperation(id:)': 'operationId',
  'Mutation.sendTestOperation(contactId:)': 'contactId',
  'Query.renderOperationPreview(contactId:)': 'contactId',
  'Subscription.operationStatsUpdated(id:)': 'operationId',
  'Subscription.operationProgress(id:)': 'operationId',
  'UpdateOperationInput.id': 'operationId',
  'Mutation.deleteOperations(ids:)': 'operationId',
  'Mutation.submitOperation(id:)': 'operationId',
  'Mutation.validateOperation(id:)': 'operationId',
  'Mutation.rejectOperation(id:)': 'operationId',
  'Mutation.scheduleOperation(id:)': 'operationId',
  'Mutation.pauseOperation(id:)': 'operationId',
  'Mutation.resumeOperation(id:)': 'operationId',
  'Mutation.cancelOperation(id:)': 'operationId',
  'Query.scoreRun(id:)': 'runId',
  'Subscription.scoreRunProgress(runId:)': 'runId',
  'Query.webhook(id:)': 'webhookId',
  'Query.webhookDeliveries(webhookId:)': 'webhookId',
  'Mutation.updateWebhook(id:)': 'webhookId',
  'Mutation.deleteWebhook(id:)': 'webhookId',
  'Mutation.activateWebhook(id:)': 'webhookId',
  'Mutation.deactivateWebhook(id:)': 'webhookId',
  'Mutation.rotateWebhookSecret(id:)': 'webhookId',
  'Mutation.replayWebhook(id:)': 'webhookId',
  'Mutation.sendTestWebhook(id:)': 'webhookId',
  'Mutation.redeliver(id:)': 'deliveryId',
  'Query.form(id:)': 'formId',
  'Mutation.updateForm(id:)': 'formId',
  'Mutation.deleteForm(id:)': 'formId',
  'Mutation.publishForm(id:)': 'formId',
  'Mutation.unpublishForm(id:)': 'formId',
  'Mutation.closeForm(id:)': 'formId',
  'Subscription.formSubmitted(formId:)': 'formId',
  'Query.invoice(id:)': 'invoiceId',
  'Mutation.approveCreditPurchase(id:)': 'purchaseId',
  'Mutation.rejectCreditPurchase(id:)': 'purchaseId',
  'Mutation.issueCreditNote(invoiceId:)': 'invoiceId',
  'Mutation.markInvoicePaid(id:)': 'invoiceId',
};
/** Fields that delete or disable: their own ids never get A's real objects, only unknown ones. */
export const DESTRUCTIVE = new Set([
  'Mutation.deleteUser',
  'Mutation.disableUser',
  'Mutation.deleteContacts',
  'Mutation.deleteScores',
  'Mutation.deleteSegments',
  'Mutation.removeSender',
  'Mutation.deleteOperations',
  'Mutation.cancelOperation',
  'Mutation.deleteWebhook',
  // They take the form down: the walk keeps submitting to it.
  'Mutation.deleteForm',
  'Mutation.unpublishForm',
  'Mutation.closeForm',
  // Irreversible on an invoice or purchase: decided once, credited once, paid once.
  'Mutation.approveCreditPurchase',
  'Mutation.rejectCreditPurchase',
  'Mutation.issueCreditNote',
  'Mutation.markInvoicePaid',
]);

function idOf(o: AccountObjects, kind: keyof AccountObjects): string {
  const v = o[kind];
  return typeof v === 'string' ? v : (v as { userId: string }).userId;
}

/** Extra classes for leaves whose meaning the type does not say. */
export function semanticClasses(leaf: InputLeaf): [string, Make][] {
  const out: [string, Make][] = [];
  const kind = ID_KIND[leaf.coordinate];
  if (leaf.named === 'ID' && kind) out.push(['id.other-account', (fx) => idOf(fx.b, kind)]);
  if (/\(after:\)$/.test(leaf.coordinate))
    out.push(
      ['cursor.forged-out-of-range', () => encodeCursor('9'.repeat(30))],
      ['cursor.forged-long', () => encodeCursor(`${'9'.repeat(5000)}|x`)],
      ['cursor.not-base64', () => '%%%\u0000'],
    );
  if (/email$/i.test(leaf.coordinate) && leaf.named === 'String')
    out.push(['email.over-320', () => `${'a'.repeat(320)}@example.com`]);
  if (/birthDate$/.test(leaf.coordinate))
    out.push(['date.year-0', () => '0000-01-01'], ['date.year-275760', () => '275760-09-13']);
  return out;
}

/** Valid values, so that the call gets as far as it can with one hostile leaf. */
const GOOD: Record<string, (fx: Fixtures) => Value> = {
  'SignUpInput.email': () => uniqueEmail('hostile.signup'),
  'SignUpInput.password': () => 'correct horse battery',
  'LoginInput.email': () => 'nobody.hostile@example.com',
  'AcceptInvitationInput.password': () => 'correct horse battery',
  'InviteUserInput.email': () => uniqueEmail('hostile.invite'),
  'AddSenderInput.email': () => uniqueEmail('hostile.sender'),
  'Mutation.sendTestOperation(to:)': (fx) => fx.a.owner.email,
  'UpdateUserInput.email': () => uniqueEmail('hostile.update'),
  'CreateContactInput.email': () => uniqueEmail('hostile.contact'),
  'UpdateContactInput.email': () => uniqueEmail('hostile.contact'),
  'CreateContactInput.phone': () => '+33612345678',
  'CreateContactInput.birthDate': () => '1990-01-31',
  'ContactFieldValueInput.name': () => 'note',
  'DefineContactFieldInput.name': () => `f${randomUUID().slice(0, 8)}`,
  'UpdateAccountSettingsInput.uniqueKey': () => 'email',
  'Query.classifyBounce(message:)': () => BOUNCE_DSN,
  'RecordBounceInput.message': () => BOUNCE_DSN,
  'FieldCriterionInput.name': () => 'email',
  'FieldCriterionInput.op': () => 'EQ',
  'ScoreConditionInput.mode': () => 'FIXED',
  'ScoreConditionInput.value': () => '5',
  'CreateScoreInput.name': () => `hostile ${randomUUID().slice(0, 8)}`,
  'ColumnMappingInput.column': () => 'email',
  'ColumnMappingInput.field': () => 'email',
  'ImportContactsInput.delimiter': () => ',',
  'ImportContactsInput.id': () => randomUUID(),
  'EventInput.url': () => 'https://example.com/',
  'EventCriterionInput.url': () => 'https://example.com/',
  'RightInput.feature': () => 'CONTACTS',
  'RightInput.level': () => 'GUEST',
  'UpdateAccountSettingsInput.scoreIntervalHours': () => 24,
  'EventCriterionInput.minCount': () => 1,
  'EventCriterionInput.withinDays': () => 30,
  'Query.publicForm(publicId:)': (fx) => fx.a.formPublicId,
  'Mutation.submitForm(publicId:)': (fx) => fx.a.formPublicId,
  'Mutation.submitForm(values:)': () => ({ email: uniqueEmail('hostile.form'), news: true }),
  'Mutation.requestCreditPurchase(packId:)': () => 'SMS_1K',
  'UpdateBillingDetailsInput.country': () => 'FR',
  'Query.creditUsage(to:)': () => '2026-02-01T00:00:00.000Z',
};
/** Optional input fields the valid value includes anyway (a FIXED condition needs its value). */
export const ALSO: Record<string, string[]> = {
  ScoreConditionInput: ['value'],
  FieldCriterionInput: ['value'],
  ImportContactsInput: ['rows'],
  CreateContactInput: ['email'],
};

export function good(coordinate: string, type: GraphQLInputType, fx: Fixtures, destructive: boolean): Value {
  const make = GOOD[coordinate];
  if (make) return make(fx);
  const named = getNamedType(type);
  if (isEnumType(named)) return named.getValues()[0].name;
  switch (named.name) {
    case 'ID': {
      const kind = ID_KIND[coordinate];
      if (!kind || destructive) return kind === 'contactId' ? '999999999' : randomUUID();
      return idOf(fx.a, kind);
    }
    case 'Int':
      return 10;
    case 'Float':
      return 1.5;
    case 'Boolean':
      return false;
    case 'DateTime':
      return '2026-01-01T00:00:00.000Z';
    case 'Decimal':
      return '1.25';
    case 'File':
      return null;
    default:
      return 'x';
  }
}
