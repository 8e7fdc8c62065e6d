import { Account } from '../modules/account/account.entity.js';
import { AuditEntry, SecurityEvent } from '../modules/audit/audit.entity.js';
import { Bounce } from '../modules/bounces/bounce.entity.js';
import {
  Contact,
  ContactField,
  ContactImport,
  ContactImportRow,
} from '../modules/contacts/contact.entity.js';
import { CreditBalance, CreditEntry, CreditReservation } from '../modules/credits/credit.entity.js';
import { ContactEvent } from '../modules/events/event.entity.js';
import { OutboxMessage } from '../modules/mail/outbox.entity.js';
import { Operation, OperationTestSend } from '../modules/operations/operation.entity.js';
import { ContactScore, Score, ScoreCondition, ScoreRun, ScoreState } from '../modules/scores/score.entity.js';
import { Segment } from '../modules/segments/segment.entity.js';
import { Sender } from '../modules/senders/sender.entity.js';
import { SendAllowance } from '../modules/sending/allowance.entity.js';
import { OperationRecipient, OperationSend } from '../modules/sending/sending.entity.js';
import { SmsOutboxMessage } from '../modules/transport/sms-outbox.entity.js';
import { Invitation, LoginThrottle, SessionToken, User } from '../modules/users/user.entity.js';
import { Webhook, WebhookDelivery } from '../modules/webhooks/webhook.entity.js';

/** Every entity MikroORM knows; each module owns its own definitions. */
export const ENTITIES = [
  Account,
  User,
  SessionToken,
  Invitation,
  LoginThrottle,
  AuditEntry,
  SecurityEvent,
  OutboxMessage,
  ContactField,
  Contact,
  ContactImport,
  ContactImportRow,
  ContactEvent,
  Bounce,
  Score,
  ScoreCondition,
  ContactScore,
  ScoreRun,
  ScoreState,
  Segment,
  Sender,
  Operation,
  OperationTestSend,
  OperationRecipient,
  OperationSend,
  SendAllowance,
  SmsOutboxMessage,
  CreditEntry,
  CreditBalance,
  CreditReservation,
  Webhook,
  WebhookDelivery,
];
