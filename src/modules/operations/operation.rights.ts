import type { Viewer } from '../../context.js';
import { forbidden } from '../../shared/errors.js';
import { type AccessLevel, atLeast, type Feature } from '../access/access.js';
import { OPERATION_KINDS, type OperationKind } from './operation.entity.js';

/**
 * An operation answers to the rights of its own kind's feature only: root fields declare
 * needSome(['EMAILINGS', 'SMS'], level) and the service checks the operation's kind here, once
 * it is loaded in the account (another account's id is NOT_FOUND before any of this).
 */
export const featureOf = (kind: OperationKind): Feature => (kind === 'EMAILING' ? 'EMAILINGS' : 'SMS');

export const OPERATION_FEATURES: Feature[] = ['EMAILINGS', 'SMS'];

export function mayDo(viewer: Viewer, kind: OperationKind, level: AccessLevel): boolean {
  return atLeast(viewer.rights[featureOf(kind)], level);
}

/** FORBIDDEN naming the kind, the feature and the level this step needs. */
export function requireKind(viewer: Viewer, kind: OperationKind, level: AccessLevel, what: string): void {
  if (!mayDo(viewer, kind, level))
    throw forbidden(`${what} of an ${kind} operation needs ${featureOf(kind)} >= ${level}`);
}

/** The kinds whose operations the viewer may read (GUEST in that kind's feature). */
export function readableKinds(viewer: Viewer): OperationKind[] {
  return OPERATION_KINDS.filter((k) => mayDo(viewer, k, 'GUEST'));
}
