import { randomBytes } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { ownerRights } from '../modules/access/access.js';
import { Account, DEFAULT_SETTINGS } from '../modules/account/account.entity.js';
import type { CreditKind } from '../modules/credits/credit.entity.js';
import { grantAllowance, ormExec } from '../modules/credits/credit.service.js';
import { hashPassword } from '../modules/users/credentials.js';
import { User } from '../modules/users/user.entity.js';

export const DEMO_EMAIL = 'owner@demo.cible.local';

/** On the first start of an empty database: a demo account (with the free credits) and its owner, with a fresh password. */
export async function seedDemoOwner(
  orm: MikroORM,
  allowance: Record<CreditKind, number> = { EMAIL: 0, SMS: 0 },
): Promise<{ email: string; password: string } | null> {
  const em = orm.em.fork();
  if ((await em.count(Account, {})) > 0) return null;
  const password = randomBytes(12).toString('base64url');
  const passwordHash = await hashPassword(password);
  const seeded = await em.transactional(async (tem) => {
    // Two processes started at once on an empty database both saw no account: the lock makes
    // the second wait, find the first one's, and seed nothing (it used to die on the unique email).
    await tem.execute(`select pg_advisory_xact_lock(hashtextextended('cible:seed-demo-owner', 0))`);
    if ((await tem.count(Account, {})) > 0) return false;
    const account = tem.create(Account, {
      name: 'Demo',
      settings: { ...DEFAULT_SETTINGS },
      createdAt: new Date(),
    });
    const now = new Date();
    tem.create(User, {
      account,
      email: DEMO_EMAIL,
      name: 'Demo owner',
      phone: null,
      passwordHash,
      status: 'ACTIVE',
      isOwner: true,
      rights: ownerRights(),
      createdAt: now,
      updatedAt: now,
    });
    await tem.flush();
    await grantAllowance(ormExec(tem), account.id, allowance);
    return true;
  });
  return seeded ? { email: DEMO_EMAIL, password } : null;
}
