/** Where packages read the time from, so tests can control it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface ManualClock extends Clock {
  set(to: Date | string | number): void;
  advance(ms: number): void;
}

/**
 * A clock that moves only when told to.
 *
 * @example const clock = createManualClock('2026-11-25T09:00:00Z'); clock.advance(60_000);
 */
export function createManualClock(start: Date | string | number = Date.now()): ManualClock {
  let current = new Date(start).getTime();
  return {
    now: () => new Date(current),
    set(to) {
      current = new Date(to).getTime();
    },
    advance(ms) {
      current += ms;
    },
  };
}
