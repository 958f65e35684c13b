import { createMemoryStore } from '@leadrelay/core';
import { expect, it } from 'vitest';
import { createFollowUps, createMemoryFollowUpStore, type FollowUpSendRequest } from '../src/index.js';

// The README's opening example, with console.log replaced by an array.
it('runs the README example', async () => {
  const sent: FollowUpSendRequest[] = [];
  const core = createMemoryStore();
  const tenant = await core.tenants.create({ name: 'Acme Realty', timeZone: 'Asia/Kolkata' });
  const lead = await core.leads.create({
    clientAccountId: tenant.id,
    phone: '+919812345678',
    name: 'Priya Sharma',
  });

  const followUps = createFollowUps({
    store: createMemoryFollowUpStore(),
    core,
    sender: {
      send: async (req) => {
        sent.push(req);
        return { providerMessageId: 'wamid.demo' };
      },
    },
  });
  await followUps.createCampaign({
    clientAccountId: tenant.id,
    status: 'active',
    name: 'Welcome',
    trigger: { type: 'lead_created' },
    schedule: { quietHours: null },
    steps: [
      {
        id: 'hello',
        delay: 'PT0S',
        message: {
          type: 'template',
          name: 'welcome_lead',
          parameters: { body: [{ var: 'lead.firstName' }] },
        },
      },
    ],
  });
  await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenant.id, leadId: lead.id });
  expect(await followUps.createRunner().tick()).toBe(1);
  expect(sent.map((r) => [r.to, r.message])).toEqual([
    ['+919812345678', { type: 'template', name: 'welcome_lead', parameters: { body: ['Priya'] } }],
  ]);
});
