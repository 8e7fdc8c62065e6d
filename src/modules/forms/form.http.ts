import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppServices } from '../../context.js';
import { page } from '../../http/html-page.js';
import { AppError } from '../../shared/errors.js';
import { escapeHtml as h } from '../../shared/text.js';
import { confirmSubmission, peekConfirmation, verifyConfirmation } from './form.confirm.js';
import { KEY_FIELD } from './form.definition.js';
import { formPage, htmlPage } from './form.page.js';
import { closedReason, findPublicForm, submitForm } from './form.submit.js';
import { FormValueError, MAX_VALUES, type SubmittedValues } from './form.values.js';

const FORM_PATH = /^\/f\/([A-Za-z0-9]{1,40})\/?(?:\?.*)?$/;
const CONFIRM_PATH = /^\/f\/confirm\/([^/?#]{1,200})\/?(?:\?.*)?$/;
/** An HTML form's urlencoded body: 50 fields of 5,000 characters fit, escaped, with margin. */
export const MAX_FORM_BODY = 512 * 1024;

/** The status of a page that tells why the form takes nothing. */
const STATUS: Record<string, number> = {
  NOT_FOUND: 404,
  RATE_LIMITED: 429,
  FORM_NOT_OPEN: 409,
  ALREADY_ANSWERED: 409,
};

/**
 * `/f/<publicId>` (the form's page: GET shows it, POST takes an HTML form's urlencoded
 * submission and answers with the configured message page or a 303 to its redirect) and
 * `/f/confirm/<token>` (double opt-in: GET shows a button, its POST confirms). Public.
 * Returns false for other paths.
 */
export function formRoutes(
  app: AppServices,
  req: IncomingMessage,
  res: ServerResponse,
  ipOf: (req: IncomingMessage) => string | null,
): boolean {
  const path = req.url ?? '';
  if (!path.startsWith('/f/')) return false;
  const confirm = CONFIRM_PATH.exec(path);
  const run = confirm ? serveConfirm(app, req, res, confirm[1], ipOf) : serveForm(app, req, res, path, ipOf);
  run.catch((err) => {
    app.logger.error('form request failed', err);
    if (!res.headersSent)
      htmlPage(res, 500, 'Something went wrong', '<p>Nothing was sent. Try again in a moment.</p>');
    else res.destroy();
  });
  return true;
}

function refusal(res: ServerResponse, err: AppError): void {
  const code = String(err.extensions.code);
  const reason = String(err.extensions.reason ?? code);
  const status = STATUS[reason] ?? STATUS[code] ?? (code === 'CONFLICT' ? 410 : 400);
  const title =
    code === 'NOT_FOUND' ? 'Form not found' : code === 'RATE_LIMITED' ? 'Please wait' : 'Not available';
  htmlPage(res, status, title, `<p>${h(err.message)}</p>`);
}

async function serveForm(
  app: AppServices,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  ipOf: (req: IncomingMessage) => string | null,
): Promise<void> {
  const method = req.method ?? 'GET';
  const m = FORM_PATH.exec(path);
  if (method !== 'POST') req.resume();
  if (!m) return htmlPage(res, 404, 'Form not found', '<p>This address names no form.</p>');
  if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
    req.resume();
    return htmlPage(res, 405, 'Method not allowed', '<p>Open the form in a browser.</p>', {
      allow: 'GET, HEAD, POST',
    });
  }
  if (method !== 'POST') {
    const form = await findPublicForm(app.orm.em.fork(), m[1]);
    const closed = closedReason(form);
    if (closed || !form?.definition) return refusal(res, closed as AppError);
    return formPage(res, {
      status: 200,
      name: form.name,
      publicId: form.publicId,
      definition: form.definition,
    });
  }
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]
    .trim()
    .toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    req.resume();
    return htmlPage(res, 415, 'Unsupported form', '<p>Send the form from its page.</p>');
  }
  const body = await readBody(req, MAX_FORM_BODY);
  if (body === null)
    return htmlPage(res, 413, 'Too much text', '<p>Nothing was sent: shorten your answers.</p>', {
      connection: 'close',
    });
  const values = parseForm(body);
  if (!values) return htmlPage(res, 400, 'Too many fields', '<p>Nothing was sent.</p>');
  const key = typeof values[KEY_FIELD] === 'string' ? (values[KEY_FIELD] as string) : null;
  try {
    const result = await submitForm(app, { publicId: m[1], values, idempotencyKey: key, ip: ipOf(req) });
    if (result.redirectUrl) {
      res.writeHead(303, { location: result.redirectUrl, 'cache-control': 'no-store', 'content-length': 0 });
      res.end();
      return;
    }
    const more = result.confirmationRequired
      ? '<p>We have sent you an email: follow its link to confirm.</p>'
      : '';
    htmlPage(res, 200, 'Thank you', `<p>${h(result.message ?? '')}</p>${more}`);
  } catch (err) {
    if (err instanceof FormValueError) {
      const form = await findPublicForm(app.orm.em.fork(), m[1]);
      if (form?.definition)
        return formPage(res, {
          status: 400,
          name: form.name,
          publicId: form.publicId,
          definition: form.definition,
          values,
          errors: err.problems,
          idempotencyKey: key ?? undefined,
        });
    }
    if (err instanceof AppError) return refusal(res, err);
    throw err;
  }
}

/** Repeated names (several choices) become a list; null past MAX_VALUES names. */
export function parseForm(body: string): SubmittedValues | null {
  const out: SubmittedValues = {};
  let names = 0;
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = out[k];
    if (prev === undefined) {
      if (++names > MAX_VALUES) return null;
      out[k] = v;
    } else if (Array.isArray(prev)) {
      if (prev.length >= 100) return null;
      prev.push(v);
    } else out[k] = [prev as string, v];
  }
  return out;
}

/** The body as text, or null (the rest left unread) once it passes `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  if (Number(req.headers['content-length'] ?? 0) > limit) {
    req.resume();
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let seen = 0;
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limit) {
        req.off('data', onData);
        req.pause();
        resolve(null);
      } else chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

const CONFIRM_PAGES = {
  unknown: [404, 'Unknown link', '<p>This confirmation link is not valid.</p>'],
  already: [200, 'Already confirmed', '<p>Your subscription is confirmed: nothing more to do.</p>'],
  confirmed: [200, 'Subscription confirmed', '<p>Thank you: your subscription is confirmed.</p>'],
  pending: [
    200,
    'Confirm your subscription',
    '<p>One last step.</p><form method="post"><button type="submit">Confirm my subscription</button></form>',
  ],
} as const;

async function serveConfirm(
  app: AppServices,
  req: IncomingMessage,
  res: ServerResponse,
  token: string,
  ipOf: (req: IncomingMessage) => string | null,
): Promise<void> {
  req.resume();
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD' && method !== 'POST')
    return htmlPage(res, 405, 'Method not allowed', '<p>Open the link in a browser.</p>', {
      allow: 'GET, POST',
    });
  const id = await verifyConfirmation(app, token);
  const state = !id
    ? 'unknown'
    : method === 'POST'
      ? await confirmSubmission(app, id, ipOf(req))
      : await peekConfirmation(app, id);
  const [status, title, body] = CONFIRM_PAGES[state];
  page(res, status, title, body);
}
