import type { CampaignInput, ParsedCampaignInput } from '../src/campaigns/campaign.js';
import { campaignInputSchema } from '../src/campaigns/campaign.js';

export const TENANT = 'tenant-a';
export const OTHER_TENANT = 'tenant-b';

/** A three-step nurture campaign; override any field. */
export function campaignInput(overrides: Partial<CampaignInput> = {}): CampaignInput {
  return {
    clientAccountId: TENANT,
    status: 'active',
    name: 'Nurture',
    trigger: { type: 'lead_created' },
    steps: [
      {
        id: 'hello',
        delay: 'PT0S',
        message: {
          type: 'template',
          name: 'welcome_lead',
          language: 'en',
          parameters: { body: { '1': { var: ['lead.firstName', 'there'] } } },
        },
      },
      {
        id: 'day1',
        delay: 'P1D',
        message: {
          type: 'text',
          text: 'Hi {{lead.firstName|there}}, still looking in {{lead.answers.city|your area}}?',
          fallbackTemplate: {
            name: 'nudge',
            language: 'en',
            parameters: { body: [{ var: 'lead.firstName' }] },
          },
        },
      },
      { id: 'day3', delay: 'P2D', message: { type: 'template', name: 'last_call' } },
    ],
    schedule: { quietHours: null, allowedDays: [1, 2, 3, 4, 5, 6, 7] },
    ...overrides,
  };
}

export function parsedCampaign(overrides: Partial<CampaignInput> = {}): ParsedCampaignInput {
  return campaignInputSchema.parse(campaignInput(overrides));
}
