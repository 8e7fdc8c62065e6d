import { type DocumentNode, GraphQLError, Kind, visit } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { badInput } from '../shared/errors.js';
import { hasLoneSurrogate } from '../shared/text.js';

/**
 * Deeper than any input of the schema needs (a criterion of 6 levels inside a score input is
 * about 20), far below what overflows a recursive walk: graphql-js coerces variables and our
 * JSON values recursively, and a value nested 100,000 deep overflowed the stack (HTTP 500).
 */
export const MAX_INPUT_DEPTH = 64;

/**
 * Why a string cannot be stored, or null. PostgreSQL refuses NUL in text (22021) and lone
 * surrogates in jsonb (22P05); both then surfaced as a masked "Unexpected error.".
 */
function badString(s: string): string | null {
  if (s.includes('\u0000')) return 'must not contain a NUL character (\\u0000)';
  if (hasLoneSurrogate(s)) return 'must not contain a lone UTF-16 surrogate (invalid Unicode)';
  return null;
}

const isPlain = (v: object) => {
  const proto = Object.getPrototypeOf(v);
  return Array.isArray(v) || proto === Object.prototype || proto === null;
};

/**
 * Values (strings, numbers, objects, list items...) one request's variables may hold: 10,000
 * events or import rows of a few fields each stay far below. A 4.9 MB criterion of ~400,000
 * values held the event loop over a second in this walk and graphql-js's coercion after it.
 */
export const MAX_INPUT_VALUES = 250_000;

interface Frame {
  value: unknown;
  key: string | number;
  parent: Frame | null;
  depth: number;
}

/** A frame's path from its variable, built only for a refusal (not copied at every step). */
function pathOf(frame: Frame): (string | number)[] {
  const path: (string | number)[] = [];
  for (let f: Frame | null = frame; f; f = f.parent) path.push(f.key);
  return path.reverse();
}

/**
 * Walks the raw variables without recursion (an explicit stack), so depth is refused before
 * anything recursive sees the value. Uploaded files (not plain objects) are left alone. With
 * `declared`, only those variables are walked: graphql-js ignores the others.
 */
export function checkVariables(
  variables: Record<string, unknown> | null | undefined,
  declared?: ReadonlySet<string>,
): GraphQLError | null {
  if (!variables || typeof variables !== 'object') return null;
  const stack: Frame[] = [];
  for (const [key, value] of Object.entries(variables))
    if (!declared || declared.has(key)) stack.push({ value, key, parent: null, depth: 1 });
  let seen = 0;
  while (stack.length) {
    const frame = stack.pop() as Frame;
    const { value } = frame;
    if (++seen > MAX_INPUT_VALUES)
      return badInput(`variables: at most ${MAX_INPUT_VALUES.toLocaleString('en')} values in one request`);
    // A path 100,000 levels long is not a message: its first steps say where it is.
    const where = () => {
      const path = pathOf(frame);
      return `$${path
        .slice(0, 12)
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))
        .join('')
        .slice(1)}${path.length > 12 ? '…' : ''}`;
    };
    if (typeof value === 'string') {
      const why = badString(value);
      if (why) return badInput(`${where()} ${why}`, { path: ['variables', ...pathOf(frame)] });
      continue;
    }
    if (typeof value === 'number' && !Number.isFinite(value))
      return badInput(`${where()} must be a finite number`, { path: ['variables', ...pathOf(frame)] });
    if (!value || typeof value !== 'object' || !isPlain(value)) continue;
    if (frame.depth > MAX_INPUT_DEPTH)
      return badInput(`${where()}: input values nest at most ${MAX_INPUT_DEPTH} levels`, {
        path: ['variables', ...pathOf(frame).slice(0, 12)],
      });
    const depth = frame.depth + 1;
    if (Array.isArray(value))
      for (let i = 0; i < value.length; i++) stack.push({ value: value[i], key: i, parent: frame, depth });
    else
      for (const k of Object.keys(value)) {
        const why = badString(k);
        if (why) return badInput(`${where()}: a key ${why}`, { path: ['variables', ...pathOf(frame)] });
        stack.push({ value: (value as Record<string, unknown>)[k], key: k, parent: frame, depth });
      }
  }
  return null;
}

/** The variables a document's operations declare. */
function declaredVariables(document: DocumentNode): Set<string> {
  const names = new Set<string>();
  for (const d of document.definitions)
    if (d.kind === Kind.OPERATION_DEFINITION)
      for (const v of d.variableDefinitions ?? []) names.add(v.variable.name.value);
  return names;
}

/**
 * String literals of the document. The lexer already refuses lone surrogates and raw control
 * characters, but `"\u0000"` is a valid escape. Nesting of literals is bounded by armor's depth
 * and token limits.
 */
export function checkDocument(document: DocumentNode): GraphQLError | null {
  let found: GraphQLError | null = null;
  visit(document, {
    [Kind.STRING]: (node, _key, _parent, _path, ancestors) => {
      const why = badString(node.value);
      if (!why || found) return;
      const arg = [...ancestors]
        .reverse()
        .find((a) => !Array.isArray(a) && (a as { kind?: string }).kind === Kind.ARGUMENT) as
        | { name: { value: string } }
        | undefined;
      found = badInput(`${arg ? `argument ${arg.name.value}` : 'a string literal'} ${why}`, {
        argument: arg?.name.value ?? null,
      });
    },
  });
  return found;
}

/**
 * Deepest nesting of `{` and `[` in a document's text, outside strings and comments. graphql-js
 * parses recursively: 100,000 nested selection sets or list literals overflowed its stack before
 * armor's token limit (4000) was reached, and the RangeError answered a masked 500. Stops
 * counting past `limit`.
 */
export function documentNesting(source: string, limit: number): number {
  const BLOCK = '"""';
  let depth = 0;
  let max = 0;
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (c === '{' || c === '[') {
      depth++;
      if (depth > max) max = depth;
      if (max > limit) return max;
      i++;
    } else if (c === '}' || c === ']') {
      if (depth > 0) depth--;
      i++;
    } else if (c === '#') {
      while (i < source.length && source[i] !== '\n' && source[i] !== '\r') i++;
    } else if (c === '"' && source.startsWith(BLOCK, i)) {
      // A block string: only \""" escapes inside it. startsWith only where a quote or a
      // backslash stands: called on every character, it doubled the scan of a long document.
      i += 3;
      while (i < source.length) {
        const d = source[i];
        if (d === '"' && source.startsWith(BLOCK, i)) break;
        i += d === '\\' && source.startsWith(`\\${BLOCK}`, i) ? 4 : 1;
      }
      i += 3;
    } else if (c === '"') {
      i++;
      while (i < source.length && source[i] !== '"' && source[i] !== '\n') i += source[i] === '\\' ? 2 : 1;
      i++;
    } else i++;
  }
  return max;
}

/**
 * Refuses, before execution and for every operation (HTTP and graphql-ws), the inputs no
 * argument can hold: NUL characters and lone surrogates in any string (arguments, nested
 * inputs, lists, JSON values, object keys), non-finite numbers, and values nested deeper than
 * MAX_INPUT_DEPTH. One check for the whole schema, so a new argument cannot forget it.
 */
export function useInputGuard(): Plugin {
  // yoga caches parsed documents: a document is walked once, not on every request (read path).
  const checked = new WeakMap<DocumentNode, GraphQLError | null>();
  const documentRefusal = (document: DocumentNode) => {
    let err = checked.get(document);
    if (err === undefined) {
      err = checkDocument(document);
      checked.set(document, err);
    }
    // A fresh error per request: yoga writes into an error's extensions as it answers.
    return err && new GraphQLError(err.message, { extensions: { ...err.extensions } });
  };
  const declared = new WeakMap<DocumentNode, Set<string>>();
  const declaredIn = (document: DocumentNode) => {
    let names = declared.get(document);
    if (!names) {
      names = declaredVariables(document);
      declared.set(document, names);
    }
    return names;
  };
  const refusal = (args: { document: DocumentNode; variableValues?: Record<string, unknown> | null }) =>
    documentRefusal(args.document) ?? checkVariables(args.variableValues ?? null, declaredIn(args.document));
  return {
    // Before graphql-js's recursive parser, wrapping the parser in place (armor's token limit
    // included); the refusal is a parse error: GRAPHQL_PARSE_FAILED and 400.
    onParse({ parseFn, setParseFn }) {
      setParseFn((source, options) => {
        const text = typeof source === 'string' ? source : source.body;
        // The code is given here: yoga adds GRAPHQL_PARSE_FAILED to parse errors over HTTP only,
        // so over graphql-ws they (armor's token limit included) came without one.
        const parseFailed = { code: 'GRAPHQL_PARSE_FAILED' };
        if (documentNesting(text, MAX_INPUT_DEPTH) > MAX_INPUT_DEPTH)
          throw new GraphQLError(
            `Syntax Error: the document nests more than ${MAX_INPUT_DEPTH} levels of { and [`,
            { extensions: parseFailed },
          );
        try {
          return parseFn(source, options);
        } catch (err) {
          if (err instanceof GraphQLError && !err.extensions?.code)
            (err as { extensions: GraphQLError['extensions'] }).extensions = {
              ...err.extensions,
              ...parseFailed,
            };
          throw err;
        }
      });
    },
    onExecute({ args, setResultAndStopExecution }) {
      const err = refusal(args);
      if (err) setResultAndStopExecution({ errors: [err] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const err = refusal(args);
      if (err) setResultAndStopExecution({ errors: [err] });
    },
  };
}
