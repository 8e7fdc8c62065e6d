/** Features of the account, each with its own access level per user (DESIGN.md "Access rights"). */
export const FEATURES = [
  'CONTACTS',
  'EMAILINGS',
  'SMS',
  'FORMS',
  'INVOICES',
  'USERS',
  'SETTINGS',
  'WEBHOOKS',
] as const;
export type Feature = (typeof FEATURES)[number];

/** Ordered: each level includes everything the previous one may do. */
export const ACCESS_LEVELS = ['NONE', 'GUEST', 'EDITOR', 'APPROVER'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

export type Rights = Record<Feature, AccessLevel>;

export function levelRank(level: AccessLevel): number {
  return ACCESS_LEVELS.indexOf(level);
}

export function atLeast(have: AccessLevel, need: AccessLevel): boolean {
  return levelRank(have) >= levelRank(need);
}

export function noRights(): Rights {
  return Object.fromEntries(FEATURES.map((f) => [f, 'NONE'])) as Rights;
}

/** The account owner is APPROVER everywhere, whatever is stored. */
export function ownerRights(): Rights {
  return Object.fromEntries(FEATURES.map((f) => [f, 'APPROVER'])) as Rights;
}

/** Normalises stored or submitted rights: every feature present, unknown keys dropped. */
export function completeRights(partial: Partial<Record<string, string>> | null | undefined): Rights {
  const rights = noRights();
  for (const f of FEATURES) {
    const v = partial?.[f];
    if (v && (ACCESS_LEVELS as readonly string[]).includes(v)) rights[f] = v as AccessLevel;
  }
  return rights;
}
