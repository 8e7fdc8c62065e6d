import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261123111533_Initial } from '../../migrations/Migration20261123111533_Initial.js';
import { Migration20261123113809_Contacts } from '../../migrations/Migration20261123113809_Contacts.js';
import { Migration20261123114553_Scores } from '../../migrations/Migration20261123114553_Scores.js';
import { Migration20261123140000_Activity } from '../../migrations/Migration20261123140000_Activity.js';
import { Migration20261123150000_ActivityLockOrder } from '../../migrations/Migration20261123150000_ActivityLockOrder.js';
import { Migration20261201195158_ImportHeartbeatBounceRecipient } from '../../migrations/Migration20261201195158_ImportHeartbeatBounceRecipient.js';
import { Migration20261201231104_ImportIdPerAccount } from '../../migrations/Migration20261201231104_ImportIdPerAccount.js';
import { Migration20261202102235_Segments } from '../../migrations/Migration20261202102235_Segments.js';
import { Migration20261202164518_Operations } from '../../migrations/Migration20261202164518_Operations.js';
import { Migration20261202164610_Senders } from '../../migrations/Migration20261202164610_Senders.js';
import { Migration20261202180000_OperationStats } from '../../migrations/Migration20261202180000_OperationStats.js';
import { Migration20261202180847_Transports } from '../../migrations/Migration20261202180847_Transports.js';
import { Migration20261202192741_OperationTestSends } from '../../migrations/Migration20261202192741_OperationTestSends.js';
import { Migration20261202195153_Sending } from '../../migrations/Migration20261202195153_Sending.js';
import { Migration20261202204422_SendParts } from '../../migrations/Migration20261202204422_SendParts.js';
import { Migration20261202205200_BounceOperation } from '../../migrations/Migration20261202205200_BounceOperation.js';
import { Migration20261202210123_SmsStatus } from '../../migrations/Migration20261202210123_SmsStatus.js';
import { Migration20261203005356_PhoneIndexes } from '../../migrations/Migration20261203005356_PhoneIndexes.js';
import { Migration20261203053627_Credits } from '../../migrations/Migration20261203053627_Credits.js';
import { Migration20261203054038_SendAllowance } from '../../migrations/Migration20261203054038_SendAllowance.js';
import { Migration20261203054715_SmsDeliveryFrequencyCap } from '../../migrations/Migration20261203054715_SmsDeliveryFrequencyCap.js';
import { Migration20261203060000_MachineEvents } from '../../migrations/Migration20261203060000_MachineEvents.js';

/**
 * Migrations imported statically: MikroORM would otherwise import the files with Node's own
 * loader, which rejects `.ts` under vitest. Add each new migration here, in order.
 */
import { Migration20261203060023_CreditEntryOperationIndex } from '../../migrations/Migration20261203060023_CreditEntryOperationIndex.js';
import { Migration20261203070000_ClaimIndexOrder } from '../../migrations/Migration20261203070000_ClaimIndexOrder.js';
import { Migration20261203072000_ActivitySmsDelivered } from '../../migrations/Migration20261203072000_ActivitySmsDelivered.js';
import { Migration20261203074142_RecipientCascadeTrigger } from '../../migrations/Migration20261203074142_RecipientCascadeTrigger.js';
import { Migration20261203082911_WebhookOutbox } from '../../migrations/Migration20261203082911_WebhookOutbox.js';
import { Migration20261203083000_TrackingHitStage } from '../../migrations/Migration20261203083000_TrackingHitStage.js';
import { Migration20261203144000_Invoices } from '../../migrations/Migration20261203144000_Invoices.js';
import { Migration20261204190000_Forms } from '../../migrations/Migration20261204190000_Forms.js';
import { Migration20261204220000_MailQueue } from '../../migrations/Migration20261204220000_MailQueue.js';
import { Migration20261205010000_WebhookErasure } from '../../migrations/Migration20261205010000_WebhookErasure.js';

export const migrationsList: MigrationObject[] = [
  { name: 'Migration20261123111533_Initial', class: Migration20261123111533_Initial },
  { name: 'Migration20261123113809_Contacts', class: Migration20261123113809_Contacts },
  { name: 'Migration20261123114553_Scores', class: Migration20261123114553_Scores },
  { name: 'Migration20261123140000_Activity', class: Migration20261123140000_Activity },
  { name: 'Migration20261123150000_ActivityLockOrder', class: Migration20261123150000_ActivityLockOrder },
  {
    name: 'Migration20261201195158_ImportHeartbeatBounceRecipient',
    class: Migration20261201195158_ImportHeartbeatBounceRecipient,
  },
  { name: 'Migration20261201231104_ImportIdPerAccount', class: Migration20261201231104_ImportIdPerAccount },
  { name: 'Migration20261202102235_Segments', class: Migration20261202102235_Segments },
  { name: 'Migration20261202164518_Operations', class: Migration20261202164518_Operations },
  { name: 'Migration20261202164610_Senders', class: Migration20261202164610_Senders },
  { name: 'Migration20261202180000_OperationStats', class: Migration20261202180000_OperationStats },
  { name: 'Migration20261202180847_Transports', class: Migration20261202180847_Transports },
  { name: 'Migration20261202192741_OperationTestSends', class: Migration20261202192741_OperationTestSends },
  { name: 'Migration20261202195153_Sending', class: Migration20261202195153_Sending },
  { name: 'Migration20261202204422_SendParts', class: Migration20261202204422_SendParts },
  { name: 'Migration20261202205200_BounceOperation', class: Migration20261202205200_BounceOperation },
  { name: 'Migration20261202210123_SmsStatus', class: Migration20261202210123_SmsStatus },
  { name: 'Migration20261203005356_PhoneIndexes', class: Migration20261203005356_PhoneIndexes },
  { name: 'Migration20261203053627_Credits', class: Migration20261203053627_Credits },
  { name: 'Migration20261203054038_SendAllowance', class: Migration20261203054038_SendAllowance },
  {
    name: 'Migration20261203054715_SmsDeliveryFrequencyCap',
    class: Migration20261203054715_SmsDeliveryFrequencyCap,
  },
  { name: 'Migration20261203060000_MachineEvents', class: Migration20261203060000_MachineEvents },
  {
    name: 'Migration20261203060023_CreditEntryOperationIndex',
    class: Migration20261203060023_CreditEntryOperationIndex,
  },
  { name: 'Migration20261203070000_ClaimIndexOrder', class: Migration20261203070000_ClaimIndexOrder },
  {
    name: 'Migration20261203072000_ActivitySmsDelivered',
    class: Migration20261203072000_ActivitySmsDelivered,
  },
  {
    name: 'Migration20261203074142_RecipientCascadeTrigger',
    class: Migration20261203074142_RecipientCascadeTrigger,
  },
  { name: 'Migration20261203082911_WebhookOutbox', class: Migration20261203082911_WebhookOutbox },
  { name: 'Migration20261203083000_TrackingHitStage', class: Migration20261203083000_TrackingHitStage },
  { name: 'Migration20261203144000_Invoices', class: Migration20261203144000_Invoices },
  /** Forms and surveys, their versions and submissions; the UNCONFIRMED email status (issue 15). */
  { name: 'Migration20261204190000_Forms', class: Migration20261204190000_Forms },
  /** Workflow mails queued in their change's transaction, sent by workers after the commit. */
  { name: 'Migration20261204220000_MailQueue', class: Migration20261204220000_MailQueue },
  /** Finds the webhook deliveries that name a contact, for its erasure. */
  { name: 'Migration20261205010000_WebhookErasure', class: Migration20261205010000_WebhookErasure },
];
