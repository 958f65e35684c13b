import { describe, expect, it } from 'vitest';
import { createManualClock, systemClock } from './clock.js';

describe('clocks', () => {
  it('the manual clock moves only when told', () => {
    const clock = createManualClock('2026-11-25T09:00:00Z');
    expect(clock.now().toISOString()).toBe('2026-11-25T09:00:00.000Z');
    clock.advance(90_000);
    expect(clock.now().toISOString()).toBe('2026-11-25T09:01:30.000Z');
    clock.set(0);
    expect(clock.now().getTime()).toBe(0);
    const a = clock.now();
    a.setFullYear(2000);
    expect(clock.now().getTime()).toBe(0);
  });

  it('the system clock follows Date.now', () => {
    const before = Date.now();
    const now = systemClock.now().getTime();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });
});
