/** mulberry32: a small seeded PRNG, so a failing tree can be regenerated from the printed seed. */
export class Rng {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.next() * list.length)];
  }
  /** Some distinct elements of list, 1 to max of them. */
  some<T>(list: readonly T[], max: number): T[] {
    const n = this.int(1, Math.min(max, list.length));
    const copy = [...list];
    const out: T[] = [];
    while (out.length < n) out.push(copy.splice(this.int(0, copy.length - 1), 1)[0]);
    return out;
  }
}
