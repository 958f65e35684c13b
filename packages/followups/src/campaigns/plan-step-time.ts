import type { Duration } from '../time/duration.js';
import { type NextAllowedTime, nextAllowedTime, type SendWindow } from '../time/quiet-hours.js';
import { addLocalTime } from '../time/zoned-time.js';

/**
 * When a step falls due: `base` plus the delay (days on the local calendar,
 * the rest as elapsed time), then moved out of quiet hours and disallowed
 * days in the lead's zone.
 *
 * @example planStepTime(enrolledAt, { days: 1, ms: 0 }, campaign.schedule, 'Asia/Kolkata').at
 */
export function planStepTime(
  base: Date,
  delay: Duration,
  window: SendWindow,
  timeZone: string,
): NextAllowedTime & { unadjusted: Date } {
  const unadjusted = addLocalTime(base, delay, timeZone);
  return { ...nextAllowedTime(unadjusted, window, timeZone), unadjusted };
}
