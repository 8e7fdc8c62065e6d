/**
 * A survey's life after publication, on a real server: submissions through the HTML endpoint
 * (urlencoded, as a browser posts) and the API, one answer per contact even at once, results
 * (counts, averages, NPS, completion), the formSubmitted stream over a real graphql-ws client,
 * the CSV export, and a webhook collecting FORM_SUBMIT in the submission's transaction.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type Actor,
  code,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
  viewerWith,
} from '../../../test/harness.js';
import { wsStream } from '../../../test/live-streams.js';
import { sleep } from '../../../test/wait.js';
import { MAX_FORM_BODY } from './form.http.js';
import { publishedForm, submit } from './testing/forms.js';

let t: TestApp;
let owner: Actor;
const origin = () => new URL(t.url).origin;

beforeAll(async () => {
  t = await startTestApp({ FORM_RATE_PER_IP: '1000' });
  owner = await signUpOwner(t, 'Acme');
});
afterAll(() => t?.close());

const SURVEY = {
  kind: 'SURVEY',
  name: 'Satisfaction',
  fields: [{ key: 'email', kind: 'EMAIL', label: 'Email', required: true }],
  questions: [
    { key: 'nps', kind: 'NPS', label: 'Would you recommend us?', required: true },
    { key: 'rate', kind: 'RATING', label: 'Delivery', scale: 5 },
    {
      key: 'likes',
      kind: 'MULTIPLE_CHOICE',
      label: 'What do you like?',
      options: ['Price', 'Speed', 'Support'],
    },
    { key: 'note', kind: 'TEXT', label: 'Anything else?' },
  ],
  settings: { onePerContact: true },
};

const post = (publicId: string, body: string, type = 'application/x-www-form-urlencoded') =>
  fetch(`${origin()}/f/${publicId}`, {
    method: 'POST',
    headers: { 'content-type': type },
    body,
    redirect: 'manual',
  });

describe('a survey', () => {
  it('takes answers from the page and the API, once per contact, and gives results', async () => {
    const survey = await publishedForm(t, owner, SURVEY);
    const page = await post(
      survey.publicId,
      'email=a%40example.com&nps=10&rate=5&likes=Price&likes=Speed&note=Great&_key=k1',
    );
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Thank you!');
    // The page's error path: a missing NPS shows the form again, with the message.
    const missing = await post(survey.publicId, 'email=b%40example.com&_key=k2');
    expect(missing.status).toBe(400);
    expect(await missing.text()).toMatch(/id="e-nps">Required</);
    const answers: [string, Record<string, unknown>][] = [
      ['b@example.com', { nps: 9, rate: 4, likes: ['Price'] }],
      ['c@example.com', { nps: 7 }],
      ['d@example.com', { nps: '3', rate: '2', likes: ['Support'], note: 'Slow' }],
    ];
    for (const [email, a] of answers) ok(await submit(t, survey.publicId, { email, ...a }));
    // One answer per contact: the same contact again is refused, even two at once.
    const again = await submit(t, survey.publicId, { email: 'a@example.com', nps: 0 });
    expect(again.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'ALREADY_ANSWERED' });
    const racing = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        submit(t, survey.publicId, { email: 'e@example.com', nps: i }, `race-${i}`),
      ),
    );
    expect(racing.filter((r) => !r.errors).length).toBe(1);
    expect(racing.filter((r) => r.errors).map(code)).toEqual(Array(5).fill('CONFLICT'));

    const { form } = ok(
      await t.gql<
        {
          form: {
            submissionCount: number;
            results: Results;
            submissions: { nodes: { answers: Record<string, unknown> }[] };
          };
        },
        { id: string }
      >(
        `query($id: ID!) { form(id: $id) { submissionCount
           results { submissions completed completionRate items { key kind answered average promoters passives detractors nps choices { value count } } }
           submissions(first: 2) { nodes { answers } } } }`,
        { id: survey.id },
        owner.token,
      ),
    );
    expect(form.submissionCount).toBe(5);
    const r = form.results;
    expect(r.submissions).toBe(5);
    // Every question answered: a@ and d@.
    expect(r.completed).toBe(2);
    expect(r.completionRate).toBeCloseTo(0.4);
    const item = (k: string) => r.items.find((i) => i.key === k) as Results['items'][number];
    const scores = [10, 9, 7, 3, racing.findIndex((x) => !x.errors)];
    const promoters = scores.filter((s) => s >= 9).length;
    const detractors = scores.filter((s) => s <= 6).length;
    expect(item('nps')).toMatchObject({
      answered: 5,
      promoters,
      detractors,
      passives: 5 - promoters - detractors,
    });
    expect(item('nps').nps).toBeCloseTo(((promoters - detractors) / 5) * 100, 1);
    expect(item('nps').average).toBeCloseTo(scores.reduce((a, b) => a + b, 0) / 5);
    expect(item('rate')).toMatchObject({ answered: 3, average: 11 / 3 });
    expect(item('likes').choices).toEqual([
      { value: 'Price', count: 2 },
      { value: 'Speed', count: 1 },
      { value: 'Support', count: 1 },
    ]);
    expect(item('note')).toMatchObject({ answered: 2, choices: [] });
    expect(form.submissions.nodes).toHaveLength(2);
  });
});

describe('results of a list of forms', () => {
  it('are the same as each form alone, from three statements for the whole list', async () => {
    const other = await signUpOwner(t, 'Many surveys');
    for (const [i, name] of ['One', 'Two', 'Three'].entries()) {
      const survey = await publishedForm(t, other, { ...SURVEY, name });
      for (let j = 0; j <= i; j++)
        ok(
          await submit(t, survey.publicId, { email: `s${i}-${j}@example.com`, nps: 9 - j, likes: ['Speed'] }),
        );
    }
    const RESULTS =
      'results { submissions completed items { key answered average nps choices { value count } } }';
    const conn = t.app.services.orm.em.getConnection();
    const spy = vi.spyOn(conn, 'execute');
    let listed: { id: string; results: unknown }[];
    try {
      listed = ok(
        await t.gql<{ forms: { id: string; results: unknown }[] }, Record<string, never>>(
          `{ forms { id ${RESULTS} } }`,
          {},
          other.token,
        ),
      ).forms;
      const reads = spy.mock.calls.map((c) => String(c[0])).filter((q) => /\bform_submission\b/.test(q));
      expect(reads).toHaveLength(3);
    } finally {
      spy.mockRestore();
    }
    expect(listed.map((f) => (f.results as { submissions: number }).submissions).sort()).toEqual([1, 2, 3]);
    for (const f of listed) {
      const alone = ok(
        await t.gql<{ form: { results: unknown } }, { id: string }>(
          `query($id: ID!) { form(id: $id) { ${RESULTS} } }`,
          { id: f.id },
          other.token,
        ),
      ).form.results;
      expect(f.results).toEqual(alone);
    }
  });
});

interface Results {
  submissions: number;
  completed: number;
  completionRate: number;
  items: {
    key: string;
    answered: number;
    average: number | null;
    promoters: number | null;
    passives: number | null;
    detractors: number | null;
    nps: number | null;
    choices: { value: string; count: number }[];
  }[];
}

describe('the HTML endpoint', () => {
  it('redirects to the configured https page with 303, and refuses other bodies', async () => {
    const form = await publishedForm(t, owner, {
      settings: { redirectUrl: 'https://shop.example.com/thanks' },
    });
    const r = await post(form.publicId, 'email=redirect%40example.com&news=on');
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('https://shop.example.com/thanks');
    expect((await post(form.publicId, '{"email":"x"}', 'application/json')).status).toBe(415);
    expect((await post(form.publicId, `email=${'a'.repeat(600_000)}`)).status).toBe(413);
    expect((await post('AAAAAAAAAAAA', 'email=x')).status).toBe(404);
    // Chunked (no Content-Length) and never ended: the count alone stops it, at once.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${origin()}/f/${form.publicId}`,
        { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write(`email=${'a'.repeat(MAX_FORM_BODY)}`);
      req.write('a'.repeat(1024));
    });
    expect(chunked).toBe(413);
    // The honeypot, as a bot fills every input: a thank-you page, nothing written.
    const bot = await post(form.publicId, 'email=bot%40example.com&news=on&_homepage=http%3A%2F%2Fspam');
    expect(bot.status).toBe(303);
    const { rows } = await t.sql.query('select 1 from contact where email = $1', ['bot@example.com']);
    expect(rows).toHaveLength(0);
    ok(await t.gql('mutation($id: ID!) { closeForm(id: $id) { id } }', { id: form.id }, owner.token));
    const closed = await fetch(`${origin()}/f/${form.publicId}`);
    expect(closed.status).toBe(410);
    expect(await closed.text()).toContain('This form is closed');
  });
});

describe('what follows a submission', () => {
  it('streams it to formSubmitted, exports it as CSV, and forwards FORM_SUBMIT to webhooks', async () => {
    const form = await publishedForm(t, owner);
    const guest = await viewerWith(t, owner, { FORMS: 'GUEST' });
    const stream = wsStream(
      t.url,
      guest.token,
      `subscription { formSubmitted(formId: "${form.id}") { id formId answers } }`,
    );
    await sleep(300); // subscribed before the submission
    const hook = ok(
      await t.gql<{ createWebhook: { webhook: { id: string } } }, Record<string, unknown>>(
        'mutation($input: WebhookInput!) { createWebhook(input: $input) { webhook { id } } }',
        {
          input: {
            name: 'CRM',
            url: 'http://127.0.0.1:9/hooks',
            eventTypes: ['FORM_SUBMIT', 'FORM_SUBMITTED'],
            fields: ['formAnswers'],
          },
        },
        owner.token,
      ),
    ).createWebhook.webhook.id;
    ok(await t.gql('mutation($id: ID!) { activateWebhook(id: $id) { id } }', { id: hook }, owner.token));
    ok(await submit(t, form.publicId, { email: 'stream@example.com', first: 'Sam', news: true }));
    const got = (await stream.next()) as { data: { formSubmitted: unknown } };
    expect(got.data.formSubmitted).toMatchObject({
      formId: form.id,
      answers: { email: 'stream@example.com', first: 'Sam' },
    });
    stream.close();
    // Both written in the submission's transaction: the behaviour event, and the submission with
    // its answers (named by formAnswers; no contact object, since no contact field is named).
    const { rows: sent } = await t.sql.query<{ event_type: string; payload: Record<string, unknown> }>(
      'select event_type, payload from webhook_delivery where webhook_id = $1 order by id',
      [hook],
    );
    expect(sent.map((d) => d.event_type)).toEqual(['event.form_submit', 'form.submitted']);
    expect(sent[0].payload).toMatchObject({ formId: form.id });
    // Its contact object holds no field (formAnswers is not one): only the id.
    expect(sent[0].payload.contact).toEqual({ id: expect.any(String) });
    expect(sent[1].payload).toMatchObject({
      formId: form.id,
      version: 1,
      outcome: 'CREATED',
      answers: { email: 'stream@example.com', first: 'Sam', news: true, source: 'website' },
    });
    expect(sent[1].payload).not.toHaveProperty('contact');

    const csv = await fetch(`${origin()}/export/forms/${form.id}/submissions.csv`, {
      headers: { authorization: `Bearer ${owner.token}` },
    });
    expect(csv.status).toBe(200);
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe(
      'submissionId,submittedAt,contactId,outcome,version,confirmedAt,email,first,news,source,consents',
    );
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/,CREATED,1,,stream@example.com,Sam,true,website,news \S+ 127\.0\.0\.1$/);
    const denied = await fetch(`${origin()}/export/forms/${form.id}/submissions.csv`, {
      headers: { authorization: `Bearer ${guest.token}` },
    });
    expect(denied.status).toBe(403);
  });
});
