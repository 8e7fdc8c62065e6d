import { type GraphQLObjectType, getNamedType, isNonNullType, isObjectType, isScalarType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSchema } from '../src/schema.js';

const schema = buildSchema();
const roots = new Set(['Query', 'Mutation', 'Subscription']);
const objectTypes = Object.values(schema.getTypeMap()).filter(
  (t) => isObjectType(t) && !t.name.startsWith('__') && !roots.has(t.name),
);
const hasId = (name: string) => {
  const type = schema.getType(name);
  const id = isObjectType(type) ? type.getFields().id : undefined;
  return !!id && isNonNullType(id.type) && getNamedType(id.type).name === 'ID';
};

/**
 * Object types a client cache may keep without an identity of their own: values always read
 * inside the object that holds them (a normalised cache stores them in their parent's entry),
 * one-off results and subscription messages. Each says so in its description.
 */
const VALUE_TYPES = [
  'AuditChange', // a field of its AuditEntry's diff
  'AuthPayload', // the one-off answer of signUp/login/acceptInvitation (its user has an id)
  'BounceClassification', // computed from the message given, never stored
  'ContactFieldValue', // a custom field value of its Contact
  'ContactImportRowResult', // a row result, read page by page through its import
  'ContactScore', // a contact's value for one score (scoreId alone is shared by every contact)
  'CreditReservation', // what one operation holds of its CreditBalance
  'CreditUsage', // the one-off report of creditUsage, and its rows:
  'CreditUsageRow',
  'InvoiceLine', // a line of its Invoice, never changed once issued
  'InvoiceParty', // the seller or buyer of its Invoice, copied at issue
  'CriterionNode', // the criterion of its ScoreCondition, and its parts:
  'EmailStatusCriterion',
  'EventCriterion',
  'FieldCriterion',
  'FrequencyCap', // the frequency cap of its AccountSettings
  'ScoreCriterion',
  'SegmentCriterion',
  'PageInfo', // the page boundaries of its connection
  'Right', // a { feature level } pair of its User
  'ScoreChange', // scoreUpdated messages
  'ScoreCondition', // replaced as a whole with its Score
  'ScoreUpdates',
  'SegmentPreview', // the one-off answer of previewSegment for a criterion not saved
  'EmailContent', // the content of its Operation, replaced with it
  'OperationAudience', // the audience of its Operation
  'OperationTrigger', // the trigger of its OperationAudience
  'OperationChange', // operationChanged messages
  'SmsContent', // the content of its SMS Operation
  'SmsInfo', // computed from its SmsContent's text
  'OperationLinkStat', // a link's counts in its operation's stats
  'OperationStatCount', // a total and unique pair of its operation's stats
  'SendExclusion', // a reason and count of its send's figures
  'OperationPreview', // the one-off answer of renderOperationPreview, and its parts:
  'RenderedEmail',
  'RenderedSms',
  'TestSendResult', // the one-off answer of sendTestOperation (its operation has an id), and its part:
  'TestSendRecipient',
  'WebhookWithSecret', // the one-off answer of createWebhook/rotateWebhookSecret (its webhook has an id)
  'WebhookDeliveryFailure', // webhookDeliveryFailed messages
  'FormField', // an input of its Form (or FormVersion), replaced with its definition
  'SurveyQuestion',
  'FormSettings',
  'FormVersion', // the published version of its Form
  'FormConsent', // a consent of its FormSubmission
  'FormResults', // the results of its Form, and their parts:
  'FormItemResult',
  'FormChoiceCount',
  'PublicForm', // the public view of a form, named by its publicId (its Form's id is not public)
  'SubmitFormResult', // the one-off answer of submitForm (its submission id is in it)
].sort();

describe('object identity for client caches', () => {
  it('gives every object type an id: ID!, except the listed value types, connections and edges', () => {
    const withoutId = objectTypes
      .map((t) => t.name)
      .filter((name) => !hasId(name) && !/(Connection|Edge)$/.test(name))
      .sort();
    expect(withoutId).toEqual(VALUE_TYPES);
  });

  it('says in each value type, connection and edge why it has no id', () => {
    const silent = objectTypes
      .filter((t) => !hasId(t.name) && !/no id/.test(t.description ?? ''))
      .map((t) => t.name);
    expect(silent).toEqual([]);
  });

  it('makes every mutation return what it changed with ids, or the ids it deleted', () => {
    const wrong: string[] = [];
    const scalars: Record<string, string> = {};
    for (const field of Object.values(schema.getMutationType()!.getFields())) {
      const named = getNamedType(field.type);
      if (isScalarType(named)) scalars[field.name] = String(field.type);
      // AuthPayload holds the user; a test send changes nothing cached and returns the operation it tested.
      else if (
        ['AuthPayload', 'TestSendResult', 'WebhookWithSecret', 'SubmitFormResult'].includes(named.name)
      )
        continue;
      else if (!hasId(named.name)) wrong.push(`${field.name}: ${named.name} has no id`);
    }
    expect(wrong).toEqual([]);
    // Deletes return the ids to evict; logout changes no cached object; recordEvents changes no
    // field of any object (scores follow at the next computation).
    expect(scalars).toEqual({
      deleteContacts: '[ID!]!',
      deleteForm: 'ID!',
      deleteScores: '[ID!]!',
      deleteOperations: '[ID!]!',
      deleteSegments: '[ID!]!',
      deleteUser: 'ID!',
      deleteWebhook: 'ID!',
      logout: 'Boolean!',
      recordEvents: 'Int!',
      removeSender: 'ID!',
      // How many deliveries went back in line: a page of them is read again with webhookDeliveries.
      replayWebhook: 'Int!',
    });
  });

  it('gives every connection Relay edges { cursor node } beside nodes, and a full PageInfo', () => {
    const connections = objectTypes.filter((t) => t.name.endsWith('Connection'));
    expect(connections.length).toBeGreaterThanOrEqual(5);
    for (const c of connections) {
      const fields = (c as GraphQLObjectType).getFields();
      expect(Object.keys(fields).sort(), c.name).toEqual(['edges', 'nodes', 'pageInfo']);
      expect(String(fields.edges.type), c.name).toBe(`[${c.name.replace(/Connection$/, 'Edge')}!]!`);
    }
    const edge = schema.getType('ContactEdge') as GraphQLObjectType;
    expect(Object.keys(edge.getFields()).sort()).toEqual(['cursor', 'node']);
    expect(String(edge.getFields().cursor.type)).toBe('String!');
    const pageInfo = schema.getType('PageInfo') as GraphQLObjectType;
    expect(
      Object.fromEntries(Object.values(pageInfo.getFields()).map((f) => [f.name, String(f.type)])),
    ).toEqual({
      hasNextPage: 'Boolean!',
      hasPreviousPage: 'Boolean!',
      startCursor: 'String',
      endCursor: 'String',
    });
  });
});
