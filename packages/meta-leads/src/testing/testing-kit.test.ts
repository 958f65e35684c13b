import { verifyMetaSignature } from '@leadrelay/core';
import { describe, expect, it } from 'vitest';
import { graphLeadSchema } from '../graph/graph-lead.js';
import { parseLeadgenWebhook } from '../webhook/parse-leadgen-webhook.js';
import { buildGraphLead, buildLeadgenWebhook, signedMetaRequest, signMetaBody } from './index.js';

describe('@leadrelay/meta-leads/testing', () => {
  it('signMetaBody matches the published HMAC-SHA256 test vector', () => {
    expect(signMetaBody('Hello, World!', "It's a Secret to Everybody")).toBe(
      'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
    );
  });

  it('buildLeadgenWebhook writes Meta’s format: entries, changes, organic leads without ad ids', () => {
    const body = JSON.stringify(
      buildLeadgenWebhook({
        time: 1764062100,
        entries: [
          {
            pageId: '1',
            leads: ['11', { leadgenId: '12', organic: true }],
            otherChanges: [{ field: 'feed', value: {} }],
          },
          {
            pageId: '2',
            leads: [{ leadgenId: '21', formId: '5', adId: '6', adgroupId: '7', createdTime: 3 }],
          },
        ],
      }),
    );
    const parsed = parseLeadgenWebhook(body);
    expect(parsed.entries.map((e) => [e.pageId, e.changes.map((c) => c.leadgenId), e.ignoredFields])).toEqual(
      [
        ['1', ['11', '12'], ['feed']],
        ['2', ['21'], []],
      ],
    );
    expect(parsed.entries[0]!.changes[1]).toMatchObject({ adId: null, adgroupId: null });
    expect(parsed.entries[1]!.changes[0]).toEqual({
      leadgenId: '21',
      pageId: '2',
      formId: '5',
      adId: '6',
      adgroupId: '7',
      createdTime: 3,
    });
  });

  it('signedMetaRequest signs the body it sends', async () => {
    const request = signedMetaRequest('https://x.test/hook', '{"a":1}', 'secret-1');
    expect(
      verifyMetaSignature(await request.text(), request.headers.get('x-hub-signature-256'), ['secret-1']),
    ).toBe(true);
  });

  it('buildGraphLead answers in the Graph shape the client parses', () => {
    const lead = graphLeadSchema.parse(
      buildGraphLead({
        leadgenId: '9',
        fullName: 'A B',
        phone: '+1 415 555 0132',
        consents: { terms: true },
        isOrganic: true,
      }),
    );
    expect(lead).toMatchObject({ id: '9', is_organic: true, platform: 'fb' });
    expect(lead.ad_id).toBeUndefined();
    expect(lead.field_data.map((f) => f.name)).toEqual(['full_name', 'phone_number']);
    expect(lead.custom_disclaimer_responses).toEqual([{ checkbox_key: 'terms', is_checked: '1' }]);
  });
});
