import {
  type ASTNode,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLInputType,
  type GraphQLSchema,
  getNamedType,
  getVariableValues,
  isInputObjectType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  visit,
} from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';

/** Runs before a document is compiled: one-off documents never pay for compilation. */
export const JIT_AFTER_RUNS = 2;

type Entry = { runs: number } | CompiledQuery | false;

/**
 * Names of the fields taking an argument of a recursive input type (Criterion: all/any/not hold
 * Criterion). graphql-jit generates the coercion of such an input without end (a worker ran out
 * of 4 GB on the second previewSegment): documents selecting them stay on graphql-js. A name
 * shared with another field only costs that field the compilation.
 */
function recursiveInputFields(schema: GraphQLSchema): Set<string> {
  const recursive = (type: GraphQLInputType): boolean => {
    const root = getNamedType(type);
    if (!isInputObjectType(root)) return false;
    const seen = new Set<string>();
    const stack = [root];
    while (stack.length) {
      const t = stack.pop() as typeof root;
      for (const f of Object.values(t.getFields())) {
        const named = getNamedType(f.type);
        if (!isInputObjectType(named)) continue;
        if (named.name === root.name) return true;
        if (!seen.has(named.name)) {
          seen.add(named.name);
          stack.push(named);
        }
      }
    }
    return false;
  };
  const out = new Set<string>();
  for (const type of Object.values(schema.getTypeMap()))
    if (isObjectType(type) && !type.name.startsWith('__'))
      for (const f of Object.values(type.getFields()))
        if (f.args.some((a) => recursive(a.type))) out.add(f.name);
  return out;
}

const selectsAny = (document: DocumentNode, names: Set<string>) => {
  let found = false;
  visit(document, {
    [Kind.FIELD]: (node: FieldNode) => {
      if (names.has(node.name.value)) found = true;
    },
  });
  return found;
};

function operationOf(
  document: DocumentNode,
  name: string | null | undefined,
): OperationDefinitionNode | null {
  const ops = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === 'OperationDefinition',
  );
  if (name) return ops.find((o) => o.name?.value === name) ?? null;
  return ops.length === 1 ? ops[0] : null;
}

/**
 * Queries through graphql-jit: a document run often is compiled once into plain functions, and
 * a page of 50 contacts then costs a fifth of graphql-js's execution time (bench:read). Only
 * queries: mutations and subscriptions keep graphql-js. A document graphql-jit cannot compile
 * runs on graphql-js, as do ambiguous ones (graphql-js then reports why). Parsing, validation
 * (graphql-armor's limits included), scope checks, resolvers and error masking are unchanged: the
 * compiled query calls the same resolvers. Compiled queries live as long as their document,
 * which yoga keeps in its bounded parse cache.
 */
export function useQueryJit(): Plugin {
  const bySchemaDocument = new WeakMap<object, WeakMap<DocumentNode, Map<string, Entry>>>();
  const uncompilable = new WeakMap<GraphQLSchema, Set<string>>();
  return {
    onExecute({ args, setExecuteFn }) {
      const operation = operationOf(args.document, args.operationName);
      if (operation?.operation !== 'query') return;
      let byDocument = bySchemaDocument.get(args.schema);
      if (!byDocument) {
        byDocument = new WeakMap();
        bySchemaDocument.set(args.schema, byDocument);
      }
      let byName = byDocument.get(args.document);
      if (!byName) {
        byName = new Map();
        byDocument.set(args.document, byName);
      }
      const key = args.operationName ?? '';
      let entry = byName.get(key) ?? { runs: 0 };
      if (entry !== false && 'runs' in entry) {
        if (++entry.runs < JIT_AFTER_RUNS) {
          byName.set(key, entry);
          return;
        }
        let avoid = uncompilable.get(args.schema);
        if (!avoid) {
          avoid = recursiveInputFields(args.schema);
          uncompilable.set(args.schema, avoid);
        }
        const compiled = selectsAny(args.document, avoid)
          ? null
          : compileQuery(args.schema, args.document, args.operationName ?? undefined);
        entry = compiled && isCompiledQuery(compiled) ? compiled : false;
        byName.set(key, entry);
      }
      if (entry === false) return;
      // Bad variables are answered by graphql-js: its messages, and yoga's 400 for a request error.
      const coerced = getVariableValues(
        args.schema,
        operation.variableDefinitions ?? [],
        args.variableValues ?? {},
      );
      if (coerced.errors) return;
      const query = entry;
      setExecuteFn(async (a: ExecutionArgs) =>
        located(await query.query(a.rootValue, a.contextValue, a.variableValues), a.document, operation),
      );
    },
  };
}

/** The field nodes a response path points at (through fragments), as graphql-js records them. */
function nodesAt(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  path: readonly (string | number)[],
) {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === 'FragmentDefinition') fragments.set(d.name.value, d);
  let sets: SelectionSetNode[] = [operation.selectionSet];
  let found: FieldNode[] = [];
  for (const key of path) {
    if (typeof key === 'number') continue;
    found = [];
    const visit = (set: SelectionSetNode) => {
      for (const s of set.selections) {
        if (s.kind === 'Field' && (s.alias?.value ?? s.name.value) === key) found.push(s);
        else if (s.kind === 'InlineFragment') visit(s.selectionSet);
        else if (s.kind === 'FragmentSpread') {
          const f = fragments.get(s.name.value);
          if (f) visit(f.selectionSet);
        }
      }
    };
    for (const set of sets) visit(set);
    sets = found.flatMap((f) => (f.selectionSet ? [f.selectionSet] : []));
  }
  return found;
}

/**
 * graphql-jit's errors carry no field nodes (a resolver's own GraphQLError is passed on as it was
 * thrown), and yoga writes an error's locations from its nodes: clients would lose them. graphql-js
 * wraps each with the field nodes (locatedError); same shape here.
 */
function located(result: ExecutionResult, document: DocumentNode, operation: OperationDefinitionNode) {
  if (!result.errors?.length) return result;
  const errors = result.errors.map((err) => {
    if (err.nodes?.length || !err.path) return err;
    const nodes: ASTNode[] = nodesAt(document, operation, err.path);
    return new GraphQLError(err.message, { nodes, path: err.path, originalError: err.originalError ?? err });
  });
  return { ...result, errors };
}
