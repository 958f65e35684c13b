import { ValidationError } from '@leadrelay/core';
import { z } from 'zod';

/** A parsed ISO-8601 duration: calendar days (weeks count 7) and elapsed milliseconds. */
export interface Duration {
  days: number;
  ms: number;
}

const PATTERN = /^P(?!$)(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/**
 * Parses an ISO-8601 duration such as `P2D`, `PT4H`, `P1DT12H`, `P1W` or
 * `PT0S`. Years and months are refused: their length depends on the date,
 * and a follow-up delay is clearer in weeks or days.
 *
 * @example parseDuration('P1DT2H') // { days: 1, ms: 7_200_000 }
 */
export function parseDuration(text: string): Duration {
  const m = PATTERN.exec(text);
  if (!m) {
    throw new ValidationError(
      `Invalid duration "${text}": use ISO-8601 weeks, days, hours, minutes, seconds`,
      {
        issues: [{ path: [], message: 'must be an ISO-8601 duration such as P2D, PT4H or P1DT12H' }],
      },
    );
  }
  const n = (i: number) => (m[i] ? Number(m[i]) : 0);
  return {
    days: n(1) * 7 + n(2),
    ms: Math.round(n(3) * 3_600_000 + n(4) * 60_000 + n(5) * 1000),
  };
}

/** Zod schema for a duration string (kept as text; parse it with {@link parseDuration}). */
export const durationSchema = z
  .string()
  .regex(PATTERN, 'must be an ISO-8601 duration such as P2D, PT4H or P1DT12H (no years or months)');
