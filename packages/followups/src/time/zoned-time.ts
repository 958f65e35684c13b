/**
 * Wall-clock arithmetic in IANA time zones using only `Intl.DateTimeFormat`:
 * the offset of a zone at an instant is read from the formatted parts, so DST
 * rules come from the runtime's time zone database, not from a table here.
 */

/** A wall-clock reading in some time zone. `weekday` is ISO: 1 = Monday … 7 = Sunday. */
export interface LocalDateTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
}

export type LocalDateTimeInput = Omit<LocalDateTime, 'weekday' | 'second'> & { second?: number };

// Formatters are costly to create and immutable: one per zone is reused.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * The wall-clock time at `instant` in `timeZone`.
 *
 * @example toLocalDateTime(new Date('2026-03-29T01:30:00Z'), 'Europe/London') // { hour: 2, minute: 30, … }
 */
export function toLocalDateTime(instant: Date | number, timeZone: string): LocalDateTime {
  const ms = typeof instant === 'number' ? instant : instant.getTime();
  const out = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, weekday: 0 };
  for (const part of formatterFor(timeZone).formatToParts(ms)) {
    switch (part.type) {
      case 'year':
        out.year = Number(part.value);
        break;
      case 'month':
        out.month = Number(part.value);
        break;
      case 'day':
        out.day = Number(part.value);
        break;
      case 'hour':
        out.hour = Number(part.value);
        break;
      case 'minute':
        out.minute = Number(part.value);
        break;
      case 'second':
        out.second = Number(part.value);
        break;
    }
  }
  const dow = new Date(Date.UTC(out.year, out.month - 1, out.day)).getUTCDay();
  out.weekday = dow === 0 ? 7 : dow;
  return out;
}

/**
 * Milliseconds the zone's wall clock is ahead of UTC at `instant`
 * (e.g. +19,800,000 for Asia/Kolkata, −14,400,000 for New York in summer).
 *
 * @example timeZoneOffsetMs('America/New_York', new Date('2026-07-01T12:00:00Z')) // -14400000
 */
export function timeZoneOffsetMs(timeZone: string, instant: Date | number): number {
  const ms = typeof instant === 'number' ? instant : instant.getTime();
  const l = toLocalDateTime(ms, timeZone);
  const asUtc = Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second);
  // The formatter has second precision; drop the instant's milliseconds to compare like with like.
  return asUtc - (ms - (((ms % 1000) + 1000) % 1000));
}

const DAY_MS = 86_400_000;

/**
 * The instant at which the zone's wall clock shows `local`. Fields may
 * overflow (day 32, hour 24) and are normalised like `Date.UTC` does.
 * A wall time skipped by a DST change (a spring-forward gap) moves forward by
 * the gap (02:30 → 03:30); a repeated one (fall-back) resolves to the earlier
 * instant. These are the "compatible" rules of Temporal and of most calendars.
 *
 * @example fromLocalDateTime({ year: 2026, month: 3, day: 8, hour: 2, minute: 30 }, 'America/New_York')
 * // 2026-03-08T07:30:00.000Z (03:30 EDT)
 */
export function fromLocalDateTime(local: LocalDateTimeInput, timeZone: string): Date {
  const wall = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second ?? 0);
  const before = timeZoneOffsetMs(timeZone, wall - DAY_MS);
  const after = timeZoneOffsetMs(timeZone, wall + DAY_MS);
  if (before === after) {
    const t = wall - before;
    // A rare zone changed its offset twice within two days: fall back to iterating.
    const actual = timeZoneOffsetMs(timeZone, t);
    return new Date(actual === before ? t : wall - actual);
  }
  const withBefore = wall - before;
  const withAfter = wall - after;
  const beforeValid = timeZoneOffsetMs(timeZone, withBefore) === before;
  const afterValid = timeZoneOffsetMs(timeZone, withAfter) === after;
  if (beforeValid && afterValid) return new Date(Math.min(withBefore, withAfter));
  if (beforeValid) return new Date(withBefore);
  if (afterValid) return new Date(withAfter);
  // In the gap: read the wall time with the offset in force before the change, which lands after it.
  return new Date(withBefore);
}

/**
 * Adds whole calendar days in the zone, keeping the wall-clock time
 * (09:00 stays 09:00 across a DST change), then `ms` of elapsed time.
 *
 * @example addLocalTime(new Date('2026-03-07T14:00:00Z'), { days: 1, ms: 0 }, 'America/New_York')
 * // 2026-03-08T13:00:00.000Z (still 09:00 local, now EDT)
 */
export function addLocalTime(instant: Date, amount: { days: number; ms: number }, timeZone: string): Date {
  let t = instant;
  if (amount.days !== 0) {
    const l = toLocalDateTime(t, timeZone);
    const sub = t.getTime() % 1000;
    t = new Date(fromLocalDateTime({ ...l, day: l.day + amount.days }, timeZone).getTime() + sub);
  }
  return amount.ms === 0 ? t : new Date(t.getTime() + amount.ms);
}

/**
 * Whether `timeZone` names a zone this runtime knows.
 *
 * @example isValidTimeZone('Asia/Kolkata') // true
 */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}
