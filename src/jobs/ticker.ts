/**
 * Runs `tick` every `everyMs` in this process, never two at once (a tick still running skips the
 * next); the function returned stops the timer and waits for a running tick. For work whose
 * state is in the tables (webhook deliveries, the mail queue): a timer rather than an Agenda
 * `every` job, which Agenda runs only when it polls (every 3 s here) whatever its interval.
 */
export function startTicker(
  tick: () => Promise<void>,
  everyMs: number,
  onError: (err: Error) => void,
): () => Promise<void> {
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    running ??= tick()
      .catch(onError)
      .finally(() => {
        running = null;
      });
  }, everyMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
