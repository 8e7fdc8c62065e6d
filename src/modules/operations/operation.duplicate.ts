import { builder, needSome } from '../../builder.js';
import type { AuthedContext } from '../../context.js';
import { LIMITS } from './operation.content.js';
import type { OperationView } from './operation.repository.js';
import { OPERATION_FEATURES } from './operation.rights.js';
import { createOperation, type OperationInput, readOperation } from './operation.service.js';
import { OperationRef } from './operation.types.js';

/**
 * A new DRAFT with the name, audience and content of an operation in any status (a sent one is
 * the usual starting point of the next): created through createOperation, so the copy passes the
 * same checks (EDITOR in the kind, templates, verified sender) and writes its own
 * createOperation entry. Nothing of the original's workflow (validation, schedule) is copied.
 */
export async function duplicateOperation(ctx: AuthedContext, id: string): Promise<OperationView> {
  const op = await readOperation(ctx, id);
  const suffix = ' (copy)';
  const name = `${op.name.slice(0, LIMITS.name - suffix.length)}${suffix}`;
  const content = op.content as NonNullable<OperationInput['email']>;
  return createOperation(ctx, {
    kind: op.kind,
    name,
    audience: op.audience,
    ...(op.kind === 'EMAILING' ? { email: content } : { sms: content as OperationInput['sms'] }),
  });
}

builder.mutationField('duplicateOperation', (t) =>
  t.withAuth(needSome(OPERATION_FEATURES, 'EDITOR')).field({
    type: OperationRef,
    description:
      "A new DRAFT copy (name + ' (copy)', audience, content) of an operation in any status; EDITOR in its kind. Content is checked again as at creation.",
    args: { id: t.arg.id({ required: true, description: 'The operation to copy' }) },
    resolve: (_r, args, ctx) => duplicateOperation(ctx, String(args.id)),
  }),
);
