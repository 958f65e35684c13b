import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff-delay.js';

describe('backoffDelay', () => {
  it('stays between min and the exponential ceiling capped at max', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, minMs, maxMs, r) => {
          const delay = backoffDelay({ attempt, minMs, maxMs, random: () => r });
          const ceiling = Math.max(minMs, Math.min(maxMs, minMs * 2 ** attempt));
          expect(delay).toBeGreaterThanOrEqual(minMs);
          expect(delay).toBeLessThanOrEqual(ceiling);
        },
      ),
    );
  });

  it('spreads over the whole range (full jitter) and grows with the attempt', () => {
    expect(backoffDelay({ attempt: 1, minMs: 200, maxMs: 10_000, random: () => 0 })).toBe(200);
    expect(backoffDelay({ attempt: 1, minMs: 200, maxMs: 10_000, random: () => 0.999999 })).toBe(400);
    expect(backoffDelay({ attempt: 3, minMs: 200, maxMs: 10_000, random: () => 0.999999 })).toBe(1_600);
    expect(backoffDelay({ attempt: 10, minMs: 200, maxMs: 10_000, random: () => 0.999999 })).toBe(10_000);
  });
});
