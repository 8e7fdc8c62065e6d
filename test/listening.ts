import type { PubSub, Topics } from '../src/realtime/pubsub.js';

/**
 * Resolves once the next subscriber of `topic` on this app's pubsub listens (yoga's pubsub adds its
 * listener on the iterator's first `next()`). graphql-ws never acknowledges a subscribe, so a test
 * awaits this before it makes the change the subscription must see, instead of sleeping.
 */
export function listening(pubsub: PubSub, topic: keyof Topics): Promise<void> {
  const original = pubsub.subscribe;
  return new Promise((resolve) => {
    pubsub.subscribe = ((...args: Parameters<typeof original>) => {
      const iterator = original.apply(pubsub, args);
      if (args[0] !== topic) return iterator;
      pubsub.subscribe = original;
      const next = iterator.next.bind(iterator);
      iterator.next = (...a: Parameters<typeof next>) => {
        const result = next(...a);
        resolve();
        return result;
      };
      return iterator;
    }) as typeof original;
  });
}
