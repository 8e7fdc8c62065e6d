import { builder, need } from '../../builder.js';
import { badInput, notFound } from '../../shared/errors.js';
import { diffOf, mutate } from '../audit/audit.service.js';
import { rekeyContacts } from '../contacts/contact.service.js';
import { checkName } from '../users/credentials.js';
import { Account, type AccountSettings, DEFAULT_SETTINGS } from './account.entity.js';

interface SettingsView extends AccountSettings {
  accountId: string;
  accountName: string;
}

const AccountSettingsRef = builder.objectRef<SettingsView>('AccountSettings').implement({
  description: 'Settings of the account.',
  fields: (t) => ({
    accountId: t.exposeID('accountId'),
    accountName: t.exposeString('accountName'),
    uniqueKey: t.exposeString('uniqueKey', {
      description: 'The contact field that identifies a contact (email by default)',
    }),
    rejectDuplicates: t.exposeBoolean('rejectDuplicates', {
      description: 'true: a write that would duplicate the unique key fails; false: it merges',
    }),
    scoreIntervalHours: t.exposeInt('scoreIntervalHours', {
      description: 'Hours between automatic score computations, counted from the last manual run',
    }),
  }),
});

const UpdateAccountSettingsInput = builder.inputType('UpdateAccountSettingsInput', {
  description: 'Only the fields given change.',
  fields: (t) => ({
    accountName: t.string({ required: false }),
    uniqueKey: t.string({ required: false, description: 'email, phone, or a custom field name' }),
    rejectDuplicates: t.boolean({ required: false }),
    scoreIntervalHours: t.int({ required: false, description: '1 to 720' }),
  }),
});

function view(a: { id: string; name: string; settings: AccountSettings }): SettingsView {
  return { ...DEFAULT_SETTINGS, ...a.settings, accountId: a.id, accountName: a.name };
}

builder.queryField('accountSettings', (t) =>
  t.withAuth(need('SETTINGS', 'GUEST')).field({
    type: AccountSettingsRef,
    resolve: async (_r, _a, ctx) => {
      const account = await ctx.em.findOne(Account, { id: ctx.viewer.accountId });
      if (!account) throw notFound('Account');
      return view(account);
    },
  }),
);

builder.mutationField('updateAccountSettings', (t) =>
  t.withAuth(need('SETTINGS', 'EDITOR')).field({
    type: AccountSettingsRef,
    args: { input: t.arg({ type: UpdateAccountSettingsInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      const next: Partial<SettingsView> = {};
      if (input.accountName != null) {
        next.accountName = checkName(input.accountName, 'accountName');
      }
      if (input.uniqueKey != null) {
        const key = input.uniqueKey.trim();
        if (!/^[a-zA-Z][a-zA-Z0-9_]{0,62}$/.test(key)) throw badInput('uniqueKey must be a field name');
        next.uniqueKey = key;
      }
      if (input.rejectDuplicates != null) next.rejectDuplicates = input.rejectDuplicates;
      if (input.scoreIntervalHours != null) {
        if (input.scoreIntervalHours < 1 || input.scoreIntervalHours > 720) {
          throw badInput('scoreIntervalHours must be between 1 and 720');
        }
        next.scoreIntervalHours = input.scoreIntervalHours;
      }
      return mutate(ctx, async ({ em, audit }) => {
        const account = await em.findOne(Account, { id: ctx.viewer.accountId }, { lockMode: 4 });
        if (!account) throw notFound('Account');
        const before = view(account);
        if (next.uniqueKey && next.uniqueKey !== before.uniqueKey)
          await rekeyContacts(em, account.id, next.uniqueKey);
        const { accountName, ...settings } = next;
        if (accountName) account.name = accountName;
        account.settings = { ...DEFAULT_SETTINGS, ...account.settings, ...settings };
        const after = view(account);
        audit({
          action: 'updateAccountSettings',
          feature: 'SETTINGS',
          objectType: 'Account',
          objectId: account.id,
          diff: diffOf(before, next),
        });
        return after;
      });
    },
  }),
);
