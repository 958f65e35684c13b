import type { StepCounts } from './ports.js';

export type StepRow = StepCounts & { stepId: string };

/**
 * The step's row of the per-step analytics, created on first use with every count at zero.
 *
 * @example stepRow(steps, 'hello').sent++;
 */
export function stepRow(steps: Map<string, StepRow>, stepId: string): StepRow {
  let row = steps.get(stepId);
  if (!row) {
    row = {
      stepId,
      sent: 0,
      delivered: 0,
      read: 0,
      failed: 0,
      unknown: 0,
      skipped: 0,
      pending: 0,
      replied: 0,
    };
    steps.set(stepId, row);
  }
  return row;
}
