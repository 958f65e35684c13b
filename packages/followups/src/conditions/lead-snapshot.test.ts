import { describe, expect, it } from 'vitest';
import { compileCondition } from './compile-condition.js';
import { buildLeadSnapshot, type FollowUpLead } from './lead-snapshot.js';

const NOW = new Date('2026-11-25T12:00:00Z');

function lead(extra: Partial<FollowUpLead> = {}): FollowUpLead {
  return {
    id: 'lead-1',
    clientAccountId: 'tenant-1',
    phone: '+919812345678',
    name: '  Priya   Sharma ',
    email: 'priya@example.com',
    source: 'Meta Lead Ad',
    additionalSources: ['Website'],
    status: 'new',
    answers: { budget: '1.5 Cr', rooms: ['2BHK', '3BHK'] },
    attributes: {},
    timeZone: null,
    optedOut: false,
    agentId: null,
    lastInboundAt: new Date('2026-11-25T06:00:00Z'),
    lastOutboundAt: null,
    createdAt: new Date('2026-11-23T12:00:00Z'),
    ...extra,
  };
}

describe('buildLeadSnapshot', () => {
  it('holds the facts, with the lazily computed ones read like the others', () => {
    const s = buildLeadSnapshot({ lead: lead(), tenant: { id: 'tenant-1', name: 'Acme' }, now: NOW });
    expect(s.lead).toMatchObject({
      id: 'lead-1',
      name: 'Priya   Sharma',
      firstName: 'Priya',
      country: 'IN',
      createdAt: '2026-11-23T12:00:00.000Z',
      lastInboundAt: '2026-11-25T06:00:00.000Z',
      lastOutboundAt: null,
      answers: { budget: '1.5 Cr', rooms: ['2BHK', '3BHK'] },
    });
    expect(s).toMatchObject({
      now: '2026-11-25T12:00:00.000Z',
      hoursSinceCreated: 48,
      lastInboundHoursAgo: 6,
      lastOutboundHoursAgo: null,
      windowOpen: true,
      tenant: { id: 'tenant-1', name: 'Acme', timeZone: null },
    });
  });

  it('is frozen all the way down and detached from the lead it was built from', () => {
    const source = lead();
    const s = buildLeadSnapshot({ lead: source, now: NOW });
    for (const part of [
      s,
      s.lead,
      s.tenant,
      s.lead.answers,
      s.lead.answers.rooms,
      s.lead.additionalSources,
    ]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(() => {
      (s.lead as { status: string }).status = 'closed_won';
    }).toThrow(TypeError);
    (source.answers.rooms as string[]).push('4BHK');
    source.status = 'closed_won';
    expect(s.lead.answers.rooms).toEqual(['2BHK', '3BHK']);
    expect(s.lead.status).toBe('new');
  });

  it('serialises every field, the lazy ones included', () => {
    const s = buildLeadSnapshot({ lead: lead({ phone: null }), now: NOW });
    const plain = JSON.parse(JSON.stringify(s));
    expect(plain.now).toBe('2026-11-25T12:00:00.000Z');
    expect(plain.lead).toMatchObject({ country: null, createdAt: '2026-11-23T12:00:00.000Z' });
    expect(Object.keys(plain.lead).sort()).toEqual(
      [
        'additionalSources',
        'agentId',
        'answers',
        'attributes',
        'country',
        'createdAt',
        'email',
        'firstName',
        'id',
        'lastInboundAt',
        'lastOutboundAt',
        'name',
        'optedOut',
        'phone',
        'source',
        'status',
        'timeZone',
      ].sort(),
    );
  });

  it('answers conditions on the lazy fields', () => {
    const indian = compileCondition({
      and: [{ '==': [{ var: 'lead.country' }, 'IN'] }, { '<': [{ var: 'lastInboundHoursAgo' }, 24] }],
    });
    expect(indian.test(buildLeadSnapshot({ lead: lead(), now: NOW }))).toBe(true);
    expect(indian.test(buildLeadSnapshot({ lead: lead({ phone: '+14155550123' }), now: NOW }))).toBe(false);
  });
});
