import { ConfigError, flag, wholeNumber } from '../../config.js';

/** A credit pack of the catalogue. Prices are exact decimal strings, never floats. */
export interface CreditPack {
  id: string;
  kind: 'EMAIL' | 'SMS';
  credits: number;
  /** Unit price excluding tax, e.g. "90.00". */
  unitPrice: string;
  /** VAT rate in percent, e.g. "20.00". */
  vatRate: string;
  currency: string;
}

export interface Seller {
  name: string;
  address: string[];
  vatNumber: string;
  siren: string;
}

export interface InvoiceConfig {
  packs: CreditPack[];
  seller: Seller;
  /** INVOICE_FOUR_EYES: the requester of a purchase may not approve it. */
  fourEyes: boolean;
  /** CREDITS_AFTER_PAYMENT: credit the ledger when the invoice is paid, not when it is issued. */
  creditsAfterPayment: boolean;
  /** INVOICE_DUE_DAYS: due date = issue date + this. */
  dueDays: number;
  /** LOW_BALANCE_THRESHOLD: a balance falling below it after a send tells the INVOICES approvers. */
  lowBalanceThreshold: number;
}

const DEFAULT_PACKS: CreditPack[] = [
  { id: 'EMAIL_10K', kind: 'EMAIL', credits: 10_000, unitPrice: '90.00', vatRate: '20.00', currency: 'EUR' },
  {
    id: 'EMAIL_100K',
    kind: 'EMAIL',
    credits: 100_000,
    unitPrice: '650.00',
    vatRate: '20.00',
    currency: 'EUR',
  },
  { id: 'SMS_1K', kind: 'SMS', credits: 1_000, unitPrice: '59.90', vatRate: '20.00', currency: 'EUR' },
  { id: 'SMS_10K', kind: 'SMS', credits: 10_000, unitPrice: '499.00', vatRate: '20.00', currency: 'EUR' },
];

const MONEY = /^\d{1,12}\.\d{2}$/;

/** INVOICE_PACKS (JSON array of CreditPack) replaces the default catalogue when set. */
function packs(env: NodeJS.ProcessEnv): CreditPack[] {
  const raw = env.INVOICE_PACKS?.trim();
  if (!raw) return DEFAULT_PACKS;
  let list: CreditPack[];
  try {
    list = JSON.parse(raw);
  } catch {
    throw new ConfigError('INVOICE_PACKS must be a JSON array of packs');
  }
  if (!Array.isArray(list) || list.length === 0)
    throw new ConfigError('INVOICE_PACKS must be a non-empty array');
  for (const p of list)
    if (
      typeof p.id !== 'string' ||
      (p.kind !== 'EMAIL' && p.kind !== 'SMS') ||
      !Number.isSafeInteger(p.credits) ||
      p.credits <= 0 ||
      !MONEY.test(p.unitPrice) ||
      !/^\d{1,2}\.\d{2}$/.test(p.vatRate) ||
      !/^[A-Z]{3}$/.test(p.currency)
    )
      throw new ConfigError(`INVOICE_PACKS: pack ${JSON.stringify(p)} is invalid`);
  return list;
}

export function loadInvoiceConfig(env: NodeJS.ProcessEnv): InvoiceConfig {
  return {
    packs: packs(env),
    seller: {
      name: env.INVOICE_SELLER_NAME?.trim() || 'Cible SAS (demo)',
      address: (env.INVOICE_SELLER_ADDRESS?.trim() || '1 rue de la Paix|75002 Paris|France').split('|'),
      vatNumber: env.INVOICE_SELLER_VAT?.trim() || 'FR00123456789',
      siren: env.INVOICE_SELLER_SIREN?.trim() || '123456789',
    },
    fourEyes: flag(env, 'INVOICE_FOUR_EYES', true),
    creditsAfterPayment: flag(env, 'CREDITS_AFTER_PAYMENT', false),
    dueDays: wholeNumber(env, 'INVOICE_DUE_DAYS', 30, 0, 365),
    lowBalanceThreshold: wholeNumber(env, 'LOW_BALANCE_THRESHOLD', 1000, 0, 1_000_000_000),
  };
}
