import { parseOrThrow, ValidationError } from '@leadrelay/core';
import { describe, expect, it } from 'vitest';
import { campaignInput } from '../../test/fixtures.js';
import { campaignInputSchema } from './campaign.js';
import { compileTextTemplate } from './text-template.js';

function issues(input: unknown) {
  try {
    parseOrThrow(campaignInputSchema, input, 'campaign');
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues;
  }
  return [];
}

describe('campaign schema', () => {
  it('applies defaults: 21:00–09:00 quiet hours, every day, 3 sends a day, no reentry, exit on reply and booking', () => {
    const c = campaignInputSchema.parse({ ...campaignInput(), schedule: undefined });
    expect(c).toMatchObject({
      status: 'active',
      schedule: { quietHours: { start: '21:00', end: '09:00' }, allowedDays: [1, 2, 3, 4, 5, 6, 7] },
      maxSendsPerLeadPerDay: 3,
      reentry: { mode: 'never' },
      exitRules: { onReply: true, onAppointmentBooked: true, onOptOut: true, leadStatusIn: [] },
    });
  });

  it('reports the JSON path of a bad step condition, a bad duration, duplicate step ids and a no_reply without after', () => {
    const base = campaignInput();
    const steps = [...base.steps];
    steps[1] = { ...steps[1]!, condition: { and: [{ '==': [{ var: 'lead.status' }] }] } };
    expect(issues({ ...base, steps }).map((i) => i.path)).toContainEqual([
      'steps',
      1,
      'condition',
      'and',
      0,
      '==',
    ]);
    steps[1] = { ...steps[1]!, condition: undefined, delay: 'P1M' };
    expect(issues({ ...base, steps }).map((i) => i.path)).toContainEqual(['steps', 1, 'delay']);
    expect(issues({ ...base, steps: [base.steps[0], base.steps[0]] }).map((i) => i.path)).toContainEqual([
      'steps',
      1,
      'id',
    ]);
    expect(issues({ ...base, trigger: { type: 'no_reply' } }).map((i) => i.path)).toContainEqual([
      'trigger',
      'after',
    ]);
    expect(issues({ ...base, exitRules: { onOptOut: false } }).map((i) => i.path)).toContainEqual([
      'exitRules',
      'onOptOut',
    ]);
    expect(
      issues({ ...base, schedule: { quietHours: { start: '25:00', end: '09:00' } } }).map((i) => i.path),
    ).toContainEqual(['schedule', 'quietHours', 'start']);
  });
});

describe('text placeholders', () => {
  it('renders paths, defaults and arrays; never walks prototypes', () => {
    const render = compileTextTemplate(
      'Hi {{ lead.firstName | there }}! {{lead.answers.bhk}} in {{lead.answers.city|Pune}} {{lead.constructor}}.',
    );
    expect(render({ lead: { firstName: 'Priya', answers: { bhk: ['2BHK', '3BHK'] } } })).toBe(
      'Hi Priya! 2BHK, 3BHK in Pune .',
    );
    expect(render({ lead: { firstName: '', answers: {} } })).toBe('Hi there!  in Pune .');
  });
});
