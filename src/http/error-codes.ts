import { type ExecutionResult, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * graphql-js reports a variable it cannot coerce (Int out of range, unknown enum value, two keys
 * of a @oneOf, a Decimal sent as a number, a File sent as text, a required variable missing) as
 * a request error without any code; yoga answers it with HTTP 400 and that bare message. Every
 * such message starts with `Variable "$name"`, graphql-js's own wording. These are the client's
 * input: BAD_USER_INPUT, the status stays 400.
 */
const VARIABLE_ERROR = /^Variable "\$[^"]*" /;

function withCodes(result: ExecutionResult): ExecutionResult | null {
  if (!result.errors?.some((e) => !e.extensions?.code && VARIABLE_ERROR.test(e.message))) return null;
  for (const e of result.errors) {
    if (e.extensions?.code || !VARIABLE_ERROR.test(e.message)) continue;
    // A GraphQLError's extensions is a plain object of its own (yoga adds to it the same way).
    (e as { extensions: GraphQLError['extensions'] }).extensions = {
      ...e.extensions,
      code: 'BAD_USER_INPUT',
    };
  }
  return result;
}

/**
 * yoga's request parsers throw some refusals without a code and with HTTP 200 (a multipart
 * request without `operations`, or whose `operations` or `map` is not JSON), or even with 500 (a
 * GET whose `variables` is not JSON). They are refusals
 * of the request's shape: BAD_REQUEST and 400, as yoga's JSON body parser already answers.
 */
function badRequest(err: unknown): unknown {
  // A GET or url-encoded request's `variables` or `extensions` that is not JSON: yoga's
  // JSON.parse threw a bare SyntaxError, masked as an INTERNAL_SERVER_ERROR with HTTP 500.
  if (err instanceof SyntaxError)
    return new GraphQLError('The variables and extensions parameters must be JSON', {
      extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
    });
  if (!(err instanceof GraphQLError) || err.extensions?.code) return err;
  const http = (err.extensions?.http as Record<string, unknown> | undefined) ?? {};
  (err as { extensions: GraphQLError['extensions'] }).extensions = {
    ...err.extensions,
    code: 'BAD_REQUEST',
    http: { ...http, status: 400 },
  };
  return err;
}

/** The media types yoga answers in; a request accepting none of them gets nothing it can read. */
const ANSWERED =
  /^(\*\/\*|application\/\*|application\/json|application\/graphql-response\+json|text\/\*|text\/event-stream|text\/html|multipart\/\*|multipart\/mixed)$/i;

function acceptsAnAnswer(accept: string | null): boolean {
  if (!accept?.trim()) return true;
  return accept.split(',').some((range) => ANSWERED.test(range.split(';', 1)[0].trim()));
}

/** A refusal of the request itself, as JSON with a code: yoga's own 415 and 406 had no body. */
const refusal = (Res: typeof Response, status: number, message: string) =>
  new Res(JSON.stringify({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] }), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });

export function useErrorCodes(): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, endResponse, fetchAPI }) {
      // Before anything runs: yoga checks what the client accepts only after executing, so a
      // mutation asked for as XML was written and then answered an empty 406.
      if (!acceptsAnAnswer(request.headers.get('accept')))
        return endResponse(
          refusal(
            fetchAPI.Response,
            406,
            'Not Acceptable: accept application/graphql-response+json, application/json or text/event-stream',
          ),
        );
      if (!requestParser)
        return endResponse(
          refusal(
            fetchAPI.Response,
            415,
            'Unsupported Media Type: send application/json, application/graphql, a form or multipart/form-data',
          ),
        );
      setRequestParser(async (request) => {
        try {
          return await requestParser(request);
        } catch (err) {
          throw badRequest(err);
        }
      });
    },
    onExecute: () => ({
      onExecuteDone: ({ result }) => {
        if (!(Symbol.asyncIterator in result)) withCodes(result);
      },
    }),
    onSubscribe: () => ({
      onSubscribeResult: ({ result }) => {
        if (!(Symbol.asyncIterator in result)) withCodes(result);
      },
    }),
  };
}
