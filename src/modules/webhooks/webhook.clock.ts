/**
 * The time webhook deliveries are scheduled by: the wall clock, moved forward only by tests that
 * need hours of back-off to pass in seconds (the receiver-down test). Claims and the dispatcher
 * pass it to PostgreSQL as a parameter instead of using now(), so the database follows it too.
 */
export const webhookClock = {
  offsetMs: 0,
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  },
  advance(ms: number): void {
    this.offsetMs += ms;
  },
};
