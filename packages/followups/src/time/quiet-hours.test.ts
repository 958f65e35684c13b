import { describe, expect, it } from 'vitest';
import { COUNTRY_TIME_ZONES, resolveLeadTimeZone } from './country-time-zones.js';
import { parseDuration } from './duration.js';
import { nextAllowedTime } from './quiet-hours.js';
import { addLocalTime, fromLocalDateTime, timeZoneOffsetMs, toLocalDateTime } from './zoned-time.js';

const night = { quietHours: { start: '21:00', end: '09:00' } };
const at = (iso: string) => new Date(iso);

describe('quiet hours across DST changes', () => {
  it('America/New_York spring forward: 22:00 EST the night before moves to 09:00 EDT (13:00Z, not 14:00Z)', () => {
    const r = nextAllowedTime(at('2026-03-08T03:00:00Z'), night, 'America/New_York');
    expect(r).toEqual({ at: at('2026-03-08T13:00:00Z'), movedBy: 'quiet_hours' });
  });

  it('America/New_York fall back: 22:00 EDT the night before moves to 09:00 EST (14:00Z)', () => {
    const r = nextAllowedTime(at('2026-11-01T02:00:00Z'), night, 'America/New_York');
    expect(r).toEqual({ at: at('2026-11-01T14:00:00Z'), movedBy: 'quiet_hours' });
  });

  it('Europe/London spring forward: 22:00 GMT moves to 09:00 BST (08:00Z)', () => {
    const r = nextAllowedTime(at('2026-03-28T22:00:00Z'), night, 'Europe/London');
    expect(r).toEqual({ at: at('2026-03-29T08:00:00Z'), movedBy: 'quiet_hours' });
  });

  it('Europe/London fall back: 22:30 BST moves to 09:00 GMT (09:00Z)', () => {
    const r = nextAllowedTime(at('2026-10-24T21:30:00Z'), night, 'Europe/London');
    expect(r).toEqual({ at: at('2026-10-25T09:00:00Z'), movedBy: 'quiet_hours' });
  });

  it('a quiet end inside the spring-forward gap resolves to the first real instant after it', () => {
    // 01:00 EST on 8 March; quiet until 02:30, which does not exist that night: 03:30 EDT.
    const r = nextAllowedTime(
      at('2026-03-08T06:00:00Z'),
      { quietHours: { start: '21:00', end: '02:30' } },
      'America/New_York',
    );
    expect(r.at).toEqual(at('2026-03-08T07:30:00Z'));
    expect(toLocalDateTime(r.at, 'America/New_York')).toMatchObject({ hour: 3, minute: 30 });
  });

  it('leaves allowed times alone and honours the boundaries exactly', () => {
    expect(nextAllowedTime(at('2026-07-01T13:00:00Z'), night, 'Europe/London')).toEqual({
      at: at('2026-07-01T13:00:00Z'),
      movedBy: null,
    });
    // 09:00 BST is allowed, 08:59 is not; 20:59 is allowed, 21:00 is not.
    expect(nextAllowedTime(at('2026-07-01T08:00:00Z'), night, 'Europe/London').movedBy).toBeNull();
    expect(nextAllowedTime(at('2026-07-01T07:59:00Z'), night, 'Europe/London').at).toEqual(
      at('2026-07-01T08:00:00Z'),
    );
    expect(nextAllowedTime(at('2026-07-01T19:59:00Z'), night, 'Europe/London').movedBy).toBeNull();
    expect(nextAllowedTime(at('2026-07-01T20:00:00Z'), night, 'Europe/London').at).toEqual(
      at('2026-07-02T08:00:00Z'),
    );
  });

  it('skips disallowed weekdays to the first allowed time', () => {
    // Saturday 2026-11-28 11:00 IST; weekdays only → Monday 30th 09:00 IST (03:30Z).
    const r = nextAllowedTime(
      at('2026-11-28T05:30:00Z'),
      { ...night, allowedDays: [1, 2, 3, 4, 5] },
      'Asia/Kolkata',
    );
    expect(r).toEqual({ at: at('2026-11-30T03:30:00Z'), movedBy: 'day_not_allowed' });
  });

  it('supports a daytime quiet window that does not cross midnight', () => {
    const lunch = { quietHours: { start: '13:00', end: '14:00' } };
    expect(nextAllowedTime(at('2026-11-25T07:45:00Z'), lunch, 'Asia/Kolkata').at).toEqual(
      at('2026-11-25T08:30:00Z'),
    );
  });
});

describe('zoned time', () => {
  it('reads offsets from the runtime zone database', () => {
    expect(timeZoneOffsetMs('America/New_York', at('2026-07-01T12:00:00Z'))).toBe(-4 * 3_600_000);
    expect(timeZoneOffsetMs('America/New_York', at('2026-01-01T12:00:00Z'))).toBe(-5 * 3_600_000);
    expect(timeZoneOffsetMs('Asia/Kolkata', at('2026-01-01T12:00:00Z'))).toBe(5.5 * 3_600_000);
  });

  it('resolves skipped wall times forward and repeated ones to the earlier instant', () => {
    expect(
      fromLocalDateTime({ year: 2026, month: 3, day: 8, hour: 2, minute: 30 }, 'America/New_York'),
    ).toEqual(at('2026-03-08T07:30:00Z'));
    expect(
      fromLocalDateTime({ year: 2026, month: 11, day: 1, hour: 1, minute: 30 }, 'America/New_York'),
    ).toEqual(at('2026-11-01T05:30:00Z'));
    expect(
      fromLocalDateTime({ year: 2026, month: 3, day: 29, hour: 1, minute: 30 }, 'Europe/London'),
    ).toEqual(at('2026-03-29T01:30:00Z'));
    expect(
      fromLocalDateTime({ year: 2026, month: 10, day: 25, hour: 1, minute: 30 }, 'Europe/London'),
    ).toEqual(at('2026-10-25T00:30:00Z'));
  });

  it('adds calendar days on the wall clock across a DST change', () => {
    // 09:00 EST on 7 March plus one day is 09:00 EDT on 8 March: 23 hours later.
    expect(addLocalTime(at('2026-03-07T14:00:00Z'), parseDuration('P1D'), 'America/New_York')).toEqual(
      at('2026-03-08T13:00:00Z'),
    );
    expect(addLocalTime(at('2026-03-07T14:00:00Z'), parseDuration('PT24H'), 'America/New_York')).toEqual(
      at('2026-03-08T14:00:00Z'),
    );
  });

  it('parses ISO-8601 durations and refuses years and months', () => {
    expect(parseDuration('P1W2DT3H4M5S')).toEqual({ days: 9, ms: 3 * 3_600_000 + 4 * 60_000 + 5000 });
    expect(parseDuration('PT0S')).toEqual({ days: 0, ms: 0 });
    expect(() => parseDuration('P1M')).toThrow(/Invalid duration/);
    expect(() => parseDuration('P')).toThrow();
    expect(() => parseDuration('PT')).toThrow();
  });
});

describe('resolveLeadTimeZone', () => {
  it('prefers the lead, then its phone country, then the campaign, then the tenant', () => {
    expect(resolveLeadTimeZone({ timeZone: 'Asia/Dubai', phone: '+14155550132' })).toEqual({
      timeZone: 'Asia/Dubai',
      source: 'lead',
    });
    expect(resolveLeadTimeZone({ timeZone: null, phone: '+14155550132' }).timeZone).toBe('America/New_York');
    expect(resolveLeadTimeZone({ timeZone: null, phone: '+447400123456' }).timeZone).toBe('Europe/London');
    expect(resolveLeadTimeZone({ timeZone: null, phone: '+919812345678' }).timeZone).toBe('Asia/Kolkata');
    // Iceland is not in the table: the campaign's zone, then the tenant's.
    expect(
      resolveLeadTimeZone({ phone: '+3545511234' }, { campaign: 'Europe/Paris', tenant: 'Asia/Kolkata' }),
    ).toEqual({
      timeZone: 'Europe/Paris',
      source: 'campaign',
    });
    expect(resolveLeadTimeZone({ phone: null }, { tenant: 'Asia/Kolkata' }).source).toBe('tenant');
    expect(resolveLeadTimeZone({})).toEqual({ timeZone: 'UTC', source: 'default' });
  });

  it('lists only zones the runtime knows', () => {
    for (const zone of Object.values(COUNTRY_TIME_ZONES)) {
      expect(() => new Intl.DateTimeFormat('en-US', { timeZone: zone })).not.toThrow();
    }
  });
});
