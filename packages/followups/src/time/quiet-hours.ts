import { fromLocalDateTime, toLocalDateTime } from './zoned-time.js';

/** When a campaign may send, in the lead's local time. */
export interface SendWindow {
  /** No sends from `start` until `end` (`HH:MM`, 24-hour); may cross midnight (`21:00`–`09:00`). */
  quietHours?: { start: string; end: string } | null;
  /** ISO weekdays allowed (1 = Monday … 7 = Sunday); all when omitted. */
  allowedDays?: readonly number[] | null;
}

export interface NextAllowedTime {
  at: Date;
  /** Why the time moved, or `null` when `instant` was already allowed. */
  movedBy: 'quiet_hours' | 'day_not_allowed' | null;
}

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m;
}

/**
 * The first instant at or after `instant` that is outside the quiet hours
 * and on an allowed weekday in `timeZone`. A time inside quiet hours moves
 * to the local end of the quiet period (09:00 the next morning for
 * 21:00–09:00); a disallowed day moves to the next allowed one. Computed on
 * wall-clock time, so it stays right across DST changes.
 *
 * @example
 * nextAllowedTime(new Date('2026-03-07T03:30:00Z'), { quietHours: { start: '21:00', end: '09:00' } }, 'America/New_York')
 * // { at: 2026-03-07T14:00:00.000Z (09:00 EST), movedBy: 'quiet_hours' }
 */
export function nextAllowedTime(instant: Date, window: SendWindow, timeZone: string): NextAllowedTime {
  const listed = window.allowedDays && window.allowedDays.length > 0 ? new Set(window.allowedDays) : null;
  const days = listed && listed.size < 7 ? listed : null;
  const quiet =
    window.quietHours && window.quietHours.start !== window.quietHours.end ? window.quietHours : null;
  // Nothing restricts the time: no need to read the wall clock.
  if (!days && !quiet) return { at: instant, movedBy: null };
  const qs = quiet ? minutesOf(quiet.start) : 0;
  const qe = quiet ? minutesOf(quiet.end) : 0;
  let t = instant;
  let movedBy: NextAllowedTime['movedBy'] = null;
  // Each pass either returns or moves to a later boundary; a week and a day of passes covers any schedule.
  for (let pass = 0; pass < 24; pass++) {
    const l = toLocalDateTime(t, timeZone);
    if (days && !days.has(l.weekday)) {
      t = fromLocalDateTime({ year: l.year, month: l.month, day: l.day + 1, hour: 0, minute: 0 }, timeZone);
      movedBy ??= 'day_not_allowed';
      continue;
    }
    if (quiet) {
      const minute = l.hour * 60 + l.minute + l.second / 60;
      const inQuiet = qs < qe ? minute >= qs && minute < qe : minute >= qs || minute < qe;
      if (inQuiet) {
        const nextDay = qs > qe && minute >= qs ? 1 : 0;
        const end = fromLocalDateTime(
          { year: l.year, month: l.month, day: l.day + nextDay, hour: Math.floor(qe / 60), minute: qe % 60 },
          timeZone,
        );
        // A quiet end that falls in a DST gap can resolve to the current instant: step past it.
        t = end.getTime() > t.getTime() ? end : new Date(t.getTime() + 60_000);
        movedBy ??= 'quiet_hours';
        continue;
      }
    }
    return { at: t, movedBy };
  }
  return { at: t, movedBy };
}
