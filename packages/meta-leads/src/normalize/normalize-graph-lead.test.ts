import { leadInputSchema } from '@leadrelay/core';
import { describe, expect, it } from 'vitest';
import { fixtureJson } from '../../test/fixtures.js';
import { type GraphLead, graphLeadSchema } from '../graph/graph-lead.js';
import { buildGraphLead } from '../testing/build-graph-lead.js';
import { normalizeGraphLead } from './normalize-graph-lead.js';

const graphLead = (input: unknown): GraphLead => graphLeadSchema.parse(input);

describe('normalizeGraphLead on the shared fixtures', () => {
  it('normalises graph-lead.json: full name, E.164, lower-cased email, answers, consent, ad facts', () => {
    const input = normalizeGraphLead(graphLead(fixtureJson('graph-lead.json')), {
      clientAccountId: 'tenant-a',
      defaultCountry: 'IN',
      pageId: '1110000000001',
    });
    expect(input).toEqual({
      clientAccountId: 'tenant-a',
      phone: '+919812345678',
      name: 'José Müller-Ødegård',
      email: 'jose.muller@example.com',
      source: 'Facebook Lead Ad',
      facebookPageId: '1110000000001',
      leadFormId: '770000000000001',
      answers: {
        city: 'Pune',
        'when_do_you_plan_to_buy?': 'within_3_months',
        'budget_(inr)': '80l_-_1.2cr',
        marketing_consent: '1',
      },
      attributes: {
        leadgenId: '9000000000000001',
        formId: '770000000000001',
        adId: '23850000000001',
        adName: 'Sea View 2BHK - Nov',
        adsetId: '23850000000002',
        campaignId: '23850000000003',
        platform: 'instagram',
        isOrganic: false,
        isTest: false,
        createdTime: '2025-11-25T09:15:02.000Z',
        consents: { marketing_consent: true },
      },
    });
    expect(leadInputSchema.safeParse(input).success).toBe(true);
  });

  it('normalises graph-lead-first-last.json: first + last, national number with the default country', () => {
    const input = normalizeGraphLead(graphLead(fixtureJson('graph-lead-first-last.json')), {
      clientAccountId: 'tenant-a',
      defaultCountry: 'IN',
    });
    expect(input).toMatchObject({
      name: 'Aarav Mehta',
      phone: '+919876543210',
      email: null,
      facebookPageId: null,
      answers: {},
      attributes: { leadgenId: '9000000000000012', platform: 'facebook', isOrganic: true, isTest: false },
    });
    expect(input.attributes).not.toHaveProperty('adId');
  });

  it('uses the country it is given: the same national number is another country’s elsewhere', () => {
    const lead = graphLead(buildGraphLead({ leadgenId: '1', fullName: 'A', phone: '020 7946 0018' }));
    expect(normalizeGraphLead(lead, { clientAccountId: 't', defaultCountry: 'GB' }).phone).toBe(
      '+442079460018',
    );
    expect(normalizeGraphLead(lead, { clientAccountId: 't', defaultCountry: 'IN' }).phone).not.toBe(
      '+442079460018',
    );
  });
});

describe('normalizeGraphLead edge cases', () => {
  it('keeps an invalid email and an invalid phone in answers, not as contact fields', () => {
    const input = normalizeGraphLead(
      graphLead(
        buildGraphLead({ leadgenId: '1', fullName: '  Priya  ', phone: '12', email: 'not-an-email' }),
      ),
      { clientAccountId: 't', defaultCountry: 'IN' },
    );
    expect(input).toMatchObject({ name: 'Priya', phone: null, email: null });
    expect(input.answers).toEqual({ phone_number: '12', email: 'not-an-email' });
    expect(leadInputSchema.safeParse(input).success).toBe(true);
  });

  it('keeps several values as a list and skips empty fields', () => {
    const input = normalizeGraphLead(
      graphLead(buildGraphLead({ leadgenId: '1', fields: { bedrooms: ['2', '3'], note: '   ', empty: [] } })),
      { clientAccountId: 't' },
    );
    expect(input.answers).toEqual({ bedrooms: ['2', '3'] });
    expect(input.name).toBeNull();
  });

  it('flags test leads: an is_test field, or the testing tool’s placeholder values', () => {
    const flagged = normalizeGraphLead(
      graphLead(buildGraphLead({ leadgenId: '1', fullName: 'A', fields: { is_test: 'true' } })),
      { clientAccountId: 't' },
    );
    expect(flagged.attributes).toMatchObject({ isTest: true });
    expect(flagged.answers).not.toHaveProperty('is_test');
    const placeholder = normalizeGraphLead(
      graphLead(buildGraphLead({ leadgenId: '2', fullName: '<test lead: dummy data for full_name>' })),
      { clientAccountId: 't' },
    );
    expect(placeholder.attributes).toMatchObject({ isTest: true });
    const real = normalizeGraphLead(
      graphLead(buildGraphLead({ leadgenId: '3', fullName: 'A', fields: { is_test: 'no' } })),
      {
        clientAccountId: 't',
      },
    );
    expect(real.attributes).toMatchObject({ isTest: false });
  });

  it('clips a very long name to the schema’s 255 characters and keeps unknown platforms as given', () => {
    const input = normalizeGraphLead(
      graphLead(buildGraphLead({ leadgenId: '1', fullName: 'x'.repeat(400), platform: 'messenger' })),
      { clientAccountId: 't' },
    );
    expect(input.name).toHaveLength(255);
    expect(input.attributes).toMatchObject({ platform: 'messenger' });
  });

  it('does not let a consent checkbox overwrite a form answer of the same name', () => {
    const input = normalizeGraphLead(
      graphLead(
        buildGraphLead({ leadgenId: '1', fields: { newsletter: 'weekly' }, consents: { newsletter: false } }),
      ),
      { clientAccountId: 't' },
    );
    expect(input.answers).toEqual({ newsletter: 'weekly', 'consent:newsletter': '0' });
    expect(input.attributes).toMatchObject({ consents: { newsletter: false } });
  });
});
