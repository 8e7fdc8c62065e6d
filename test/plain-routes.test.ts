/**
 * The plain HTTP routes beside /graphql, given paths whose escapes are not UTF-8 (decodeURIComponent
 * throws on them): each answers a 4xx (the open pixel its image), and the server goes on answering. A synchronous throw in a
 * route once took the process down with one unauthenticated request.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './harness.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.close());

it('answers malformed escapes on every plain route with a 4xx, and keeps serving', async () => {
  const origin = new URL(t.url).origin;
  const paths = [
    '/export/segments/%E0%A4%A.csv',
    '/export/forms/%E0/submissions.csv',
    '/invoices/%E0%A4%A.pdf',
    '/senders/confirm/%E0',
    '/f/%E0',
    '/f/confirm/%E0%A4%A',
    '/u/%E0.%E0',
    '/t/o/%E0',
  ];
  const got: Record<string, number> = {};
  for (const p of paths) got[p] = (await fetch(origin + p)).status;
  // The open pixel answers its image whatever the token (a mail client shows no error).
  for (const [p, status] of Object.entries(got))
    if (!p.startsWith('/t/o/')) expect(status, p).toBeGreaterThanOrEqual(400);
  for (const [p, status] of Object.entries(got)) expect(status, p).toBeLessThan(500);
  expect((await fetch(`${origin}/health`)).status).toBe(200);
});
