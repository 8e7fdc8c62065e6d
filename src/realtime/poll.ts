import { Repeater } from 'graphql-yoga';

/**
 * A subscription's stream fed by polling: `read()` now, then again whenever `version()` answers
 * something else, looked at every `everyMs`. For figures that many paths and processes change
 * in their own transactions (operation stats, a send's progress): the version moves with each
 * commit, so nothing has to be published, and bursts coalesce to one message per period.
 */
export function pollStream<T>(
  version: () => Promise<string>,
  read: () => Promise<T>,
  everyMs: number,
): Repeater<T> {
  return new Repeater<T>(async (push, stop) => {
    let last: string | null = null;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    stop.then(() => {
      stopped = true;
      clearTimeout(timer);
    });
    while (!stopped) {
      const v = await version();
      if (v !== last) {
        last = v;
        await push(await read());
      }
      await Promise.race([new Promise((r) => (timer = setTimeout(r, everyMs))), stop]);
    }
  });
}
