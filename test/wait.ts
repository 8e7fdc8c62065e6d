/**
 * Polls `condition` until it holds; fails with `what` once `timeoutMs` has passed, so a test whose
 * expected state never comes fails with a clear message rather than hanging until vitest's limit.
 */
export async function waitUntil(
  condition: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 30_000,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
