import type { DailyCounts } from './ports.js';

/**
 * The day's row of a daily series, created on first use with every count at zero.
 *
 * @example dailyRow(days, '2026-11-25').sent++;
 */
export function dailyRow(days: Map<string, DailyCounts>, date: string): DailyCounts {
  let row = days.get(date);
  if (!row) {
    row = {
      date,
      enrolled: 0,
      sent: 0,
      delivered: 0,
      read: 0,
      replied: 0,
      booked: 0,
      failed: 0,
      unknown: 0,
      optedOut: 0,
    };
    days.set(date, row);
  }
  return row;
}
