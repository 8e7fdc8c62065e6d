import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { GraphiQLOptions, LandingPageRenderer } from 'graphql-yoga';
import { DEMO_EMAIL } from '../db/seed.js';

/** Stands for the demo owner's password in the first screen's Login (tests replace it). */
export const PASSWORD_PLACEHOLDER = 'printed at first start';

/**
 * The first screen of the playground: how to log in and where the token goes, then one query and
 * one subscription that need it. GraphiQL runs the operation under the cursor (or offers a choice).
 */
export const PLAYGROUND_DOCUMENT = `# Welcome to Cible. To authenticate:
#
# 1. Put the demo owner's password (printed once, at
#    the server's first start) in Login below, then
#    run Login: the run button (▶), or Ctrl-Enter
#    with the cursor inside it.
# 2. Copy the "token" of the result.
# 3. In the Headers tab below, write
#      {"Authorization": "Bearer <token>"}
#    It goes with every query and mutation, and with
#    subscriptions over WebSocket.
# 4. Then run Me, then LiveHistory: it shows an entry
#    for each change made in the account (make one
#    from another tab, e.g. updateAccountSettings).

mutation Login {
  login(
    input: {
      email: "${DEMO_EMAIL}"
      password: "${PASSWORD_PLACEHOLDER}"
    }
  ) {
    token
    user {
      id
      name
    }
  }
}

query Me {
  me {
    id
    email
    isOwner
  }
}

subscription LiveHistory {
  auditEntryAdded {
    action
    userEmail
    objectType
    objectId
    createdAt
  }
}
`;

/** Shown in the Headers tab of a new tab, so the shape is visible before the first login. */
export const PLAYGROUND_HEADERS = '{\n  "Authorization": "Bearer <the token of Login>"\n}';

export const playgroundOptions: GraphiQLOptions = {
  title: 'Cible',
  // graphql-ws on the same path; the headers travel in each subscribe message's extensions.
  subscriptionsProtocol: 'WS',
  defaultQuery: PLAYGROUND_DOCUMENT,
  defaultHeaders: PLAYGROUND_HEADERS,
  defaultEditorToolsVisibility: 'headers',
  isHeadersEditorEnabled: true,
};

let rendered: { key: string; html: string } | null = null;

/**
 * GraphiQL with its code, styles, fonts and editor workers inlined from the installed
 * @graphql-yoga/render-graphiql, so the page needs nothing but this server (no CDN). The page is
 * about 10 MB of text and the options are fixed, so it is built once.
 */
export function renderPlayground(opts: GraphiQLOptions): string {
  const key = JSON.stringify(opts);
  if (rendered?.key !== key) rendered = { key, html: renderGraphiQL(opts) };
  return rendered.html;
}

/** A browser opening the server's root is sent to the playground; other paths are plain 404s. */
export const playgroundLanding: LandingPageRenderer = ({ url, fetchAPI, graphqlEndpoint }) =>
  url.pathname === '/'
    ? new fetchAPI.Response(null, { status: 302, headers: { location: graphqlEndpoint } })
    : new fetchAPI.Response(`Not found: the API and its playground are at ${graphqlEndpoint}`, {
        status: 404,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
      });
