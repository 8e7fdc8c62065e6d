import { randomBytes } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { ownerRights } from '../modules/access/access.js';
import { Account, DEFAULT_SETTINGS } from '../modules/account/account.entity.js';
import { hashPassword } from '../modules/users/credentials.js';
import { User } from '../modules/users/user.entity.js';

export const DEMO_EMAIL = 'owner@demo.cible.local';

/** On the first start of an empty database: a demo account and its owner, with a fresh password. */
export async function seedDemoOwner(orm: MikroORM): Promise<{ email: string; password: string } | null> {
  const em = orm.em.fork();
  if ((await em.count(Account, {})) > 0) return null;
  const password = randomBytes(12).toString('base64url');
  const passwordHash = await hashPassword(password);
  await em.transactional(async (tem) => {
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
  });
  return { email: DEMO_EMAIL, password };
}
