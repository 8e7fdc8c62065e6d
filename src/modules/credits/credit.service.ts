import type { Exec } from '../../db/exec.js';
import { conflict } from '../../shared/errors.js';
import type { CreditEntryType, CreditKind } from './credit.entity.js';

/**
 * The credit ledger's operations, on whichever connection the caller's transaction holds (Exec:
 * the ORM's for schedule, cancel and the engine's steps, a pg client's for a batch). Each takes
 * the balance row FOR UPDATE first, then the reservation's: one lock order everywhere.
 */
export { type Exec, ormExec, pgExec } from '../../db/exec.js';

export interface Balance {
  kind: CreditKind;
  balance: number;
  reserved: number;
}

async function lockBalance(exec: Exec, accountId: string, kind: CreditKind): Promise<Balance> {
  await exec(
    'insert into credit_balance (account_id, kind) values ($1, $2) on conflict (account_id, kind) do nothing',
    [accountId, kind],
  );
  const [row] = await exec<{ balance: string; reserved: string }>(
    'select balance, reserved from credit_balance where account_id = $1 and kind = $2 for update',
    [accountId, kind],
  );
  return { kind, balance: Number(row.balance), reserved: Number(row.reserved) };
}

async function writeBalance(exec: Exec, accountId: string, b: Balance): Promise<void> {
  await exec(
    'update credit_balance set balance = $3, reserved = $4, updated_at = now() where account_id = $1 and kind = $2',
    [accountId, b.kind, b.balance, b.reserved],
  );
}

async function entry(
  exec: Exec,
  accountId: string,
  kind: CreditKind,
  type: CreditEntryType,
  amount: number,
  extra: { operationId?: string | null; note?: string | null } = {},
): Promise<void> {
  await exec(
    'insert into credit_entry (account_id, kind, type, amount, operation_id, note) values ($1, $2, $3, $4, $5, $6)',
    [accountId, kind, type, amount, extra.operationId ?? null, extra.note ?? null],
  );
}

/** Adds credits (an allowance, a purchase, a positive adjustment) with its ledger entry. */
export async function addCredits(
  exec: Exec,
  accountId: string,
  kind: CreditKind,
  amount: number,
  type: Exclude<CreditEntryType, 'USAGE'>,
  note: string | null = null,
): Promise<Balance> {
  if (!Number.isSafeInteger(amount) || amount <= 0)
    throw new Error(`addCredits: ${amount} is not a positive count`);
  const b = await lockBalance(exec, accountId, kind);
  b.balance += amount;
  await writeBalance(exec, accountId, b);
  await entry(exec, accountId, kind, type, amount, { note });
  return b;
}

/** The free credits of a new account, in its creation's transaction. */
export async function grantAllowance(
  exec: Exec,
  accountId: string,
  allowance: Record<CreditKind, number>,
): Promise<void> {
  for (const kind of ['EMAIL', 'SMS'] as const)
    if (allowance[kind] > 0)
      await addCredits(exec, accountId, kind, allowance[kind], 'ALLOWANCE', 'free allowance');
}

export interface ReservationRequest {
  accountId: string;
  operationId: string;
  kind: CreditKind;
  recipients: number;
  /** Credits per recipient: 1 for an email, the SMS text's parts as written. */
  perRecipient: number;
}

/**
 * Sets the operation's reservation to recipients × perRecipient, taking or returning only the
 * difference with what it already holds (a schedule moved, the freeze's exact count). Refused
 * with CONFLICT INSUFFICIENT_CREDITS, with the amounts, when what is available does not cover it;
 * then nothing changes. Concurrent schedules queue on the balance row, so they can never reserve
 * together more than the balance.
 */
export async function reserveCredits(exec: Exec, r: ReservationRequest): Promise<number> {
  const needed = r.recipients * r.perRecipient;
  const b = await lockBalance(exec, r.accountId, r.kind);
  const [held] = await exec<{ amount: string }>(
    'select amount from credit_reservation where operation_id = $1 for update',
    [r.operationId],
  );
  const current = held ? Number(held.amount) : 0;
  const available = b.balance - b.reserved + current;
  if (needed > available)
    throw conflict(
      `Not enough ${r.kind} credits: this send needs ${needed} (${r.recipients} recipients × ${r.perRecipient}) and ${available} are available; buy credits or narrow the audience`,
      { reason: 'INSUFFICIENT_CREDITS', kind: r.kind, needed, available, missing: needed - available },
    );
  b.reserved += needed - current;
  await writeBalance(exec, r.accountId, b);
  await exec(
    `insert into credit_reservation (operation_id, account_id, kind, amount, per_recipient) values ($1, $2, $3, $4, $5)
     on conflict (operation_id) do update set amount = excluded.amount, per_recipient = excluded.per_recipient, updated_at = now()`,
    [r.operationId, r.accountId, r.kind, needed, r.perRecipient],
  );
  return needed;
}

/**
 * Adds `amount` to an operation's reservation (a trigger's new recipients) if what is available
 * covers it; false, and nothing changed, if not.
 */
export async function growReservation(
  exec: Exec,
  g: { accountId: string; operationId: string; kind: CreditKind; amount: number; perRecipient: number },
): Promise<boolean> {
  if (g.amount <= 0) return true;
  const b = await lockBalance(exec, g.accountId, g.kind);
  if (b.balance - b.reserved < g.amount) return false;
  b.reserved += g.amount;
  await writeBalance(exec, g.accountId, b);
  await exec(
    `insert into credit_reservation (operation_id, account_id, kind, amount, per_recipient) values ($1, $2, $3, $4, $5)
     on conflict (operation_id) do update set amount = credit_reservation.amount + excluded.amount, updated_at = now()`,
    [g.operationId, g.accountId, g.kind, g.amount, g.perRecipient],
  );
  return true;
}

/** Returns what the operation still holds to the available credits (ended, cancelled, edited). */
export async function releaseCredits(exec: Exec, operationId: string): Promise<number> {
  const [held] = await exec<{ account_id: string; kind: CreditKind }>(
    'select account_id, kind from credit_reservation where operation_id = $1',
    [operationId],
  );
  if (!held) return 0;
  const b = await lockBalance(exec, held.account_id, held.kind);
  const [row] = await exec<{ amount: string }>(
    'delete from credit_reservation where operation_id = $1 returning amount',
    [operationId],
  );
  if (!row) return 0;
  b.reserved -= Number(row.amount);
  await writeBalance(exec, held.account_id, b);
  return Number(row.amount);
}

/**
 * Told of every settlement that charged something, inside its transaction, with the balance row
 * still locked: the invoices module mails the approvers when the balance crosses its threshold.
 */
export type BalanceDrop = (
  exec: Exec,
  drop: { accountId: string; kind: CreditKind; before: number; after: number },
) => Promise<void>;

/**
 * What a batch really used (emails accepted, SMS parts handed to the gateway), in the batch's own
 * transaction: drawn from the operation's reservation, and beyond it (a personalised SMS longer
 * than its template, a send cancelled while a batch was in flight) from what is available. The
 * messages are already out, so this never refuses: if the balance cannot cover an overrun, what
 * is charged stops at zero balance (never negative) and the uncharged rest is returned for the log.
 */
export async function settleCredits(
  exec: Exec,
  s: { accountId: string; operationId: string; kind: CreditKind; used: number },
  onDrop?: BalanceDrop,
): Promise<{ charged: number; uncharged: number }> {
  if (s.used <= 0) return { charged: 0, uncharged: 0 };
  const b = await lockBalance(exec, s.accountId, s.kind);
  const [held] = await exec<{ amount: string }>(
    'select amount from credit_reservation where operation_id = $1 for update',
    [s.operationId],
  );
  const fromReservation = Math.min(s.used, held ? Number(held.amount) : 0);
  b.reserved -= fromReservation;
  const charged = Math.min(s.used, b.balance - b.reserved);
  const before = b.balance;
  b.balance -= charged;
  await writeBalance(exec, s.accountId, b);
  if (held)
    await exec(
      'update credit_reservation set amount = amount - $2, updated_at = now() where operation_id = $1',
      [s.operationId, fromReservation],
    );
  await entry(exec, s.accountId, s.kind, 'USAGE', -charged, { operationId: s.operationId });
  if (charged > 0 && onDrop)
    await onDrop(exec, { accountId: s.accountId, kind: s.kind, before, after: b.balance });
  return { charged, uncharged: s.used - charged };
}

export interface CreditsView extends Balance {
  available: number;
  reservations: { operationId: string; amount: number }[];
}

/** Balances and reservations of the account, both kinds (zero where it never had any). */
export async function creditsOf(exec: Exec, accountId: string): Promise<CreditsView[]> {
  // One after the other: the executor may be a transaction's single connection.
  const balances = await exec<{ kind: CreditKind; balance: string; reserved: string }>(
    'select kind, balance, reserved from credit_balance where account_id = $1',
    [accountId],
  );
  const reservations = await exec<{ kind: CreditKind; operation_id: string; amount: string }>(
    'select kind, operation_id, amount from credit_reservation where account_id = $1 order by created_at, operation_id',
    [accountId],
  );
  return (['EMAIL', 'SMS'] as const).map((kind) => {
    const b = balances.find((x) => x.kind === kind);
    const balance = Number(b?.balance ?? 0);
    const reserved = Number(b?.reserved ?? 0);
    return {
      kind,
      balance,
      reserved,
      available: balance - reserved,
      reservations: reservations
        .filter((x) => x.kind === kind)
        .map((x) => ({ operationId: x.operation_id, amount: Number(x.amount) })),
    };
  });
}
