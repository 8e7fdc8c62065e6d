/** A worker entry for pool.test.ts: echoes, throws, spins forever or dies, as asked. */
import { serve } from '../serve.js';

serve<string, string>((payload) => {
  if (payload === 'throw') throw new Error('thrown in the worker');
  if (payload === 'spin') for (;;) {}
  if (payload === 'die') process.exit(3);
  if (payload === 'grow') {
    const held: number[][] = [];
    for (;;) held.push(new Array(1e5).fill(1));
  }
  return `echo ${payload}`;
});
