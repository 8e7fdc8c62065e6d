import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { GraphiQLOptions, LandingPageRenderer } from 'graphql-yoga';
import { DEMO_EMAIL } from '../db/seed.js';

/**
 * The first screen of the playground: how to log in and where the token goes, then one query and
 * one subscription that need it. GraphiQL runs the operation under the cursor (or offers a choice).
 */
export const PLAYGROUND_DOCUMENT = `# Welcome to Cible.
#
# 1. Log in: put the cursor in the Login mutation below and press the run button (Ctrl-Enter).
#    The demo owner's password is printed once, at the server's first start.
# 2. Copy the "token" from the result.
# 3. Open the Headers tab (below this editor) and write
#      {"Authorization": "Bearer <token>"}
#    Queries, mutations and subscriptions (over WebSocket) all use that header.
# 4. Then run Me, or LiveHistory: it receives an entry for every mutation made in the account
#    (run any mutation from another tab, e.g. updateAccountSettings).

mutation Login {
  login(input: { email: "${DEMO_EMAIL}", password: "the password printed at first start" }) {
    token
    user {
      id
      name
      rights {
        feature
        level
      }
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
export const PLAYGROUND_HEADERS = '{\n  "Authorization": "Bearer <paste the token of login here>"\n}';

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
