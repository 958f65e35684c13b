import { isLeadRelayError, ValidationError } from '@leadrelay/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fixtureBytes, fixtureText } from '../../test/fixtures.js';
import { parseLeadgenWebhook, toLeadgenWebhookWithSchema } from './parse-leadgen-webhook.js';
import { readLeadgenWebhookFast } from './read-leadgen-webhook-fast.js';

function reasonOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (isLeadRelayError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('parseLeadgenWebhook on the shared fixtures', () => {
  it('reads the single-change fixture', () => {
    expect(parseLeadgenWebhook(fixtureBytes('meta-leadgen-single.json'))).toEqual({
      object: 'page',
      entries: [
        {
          pageId: '1110000000001',
          time: 1764062100,
          ignoredFields: [],
          changes: [
            {
              leadgenId: '9000000000000001',
              pageId: '1110000000001',
              formId: '770000000000001',
              adId: '23850000000001',
              adgroupId: '23850000000002',
              createdTime: 1764062100,
            },
          ],
        },
      ],
    });
  });

  it('reads every entry and every change of the batch, organic leads without ad ids', () => {
    const webhook = parseLeadgenWebhook(fixtureText('meta-leadgen-batch.json'));
    expect(webhook.entries.map((e) => e.pageId)).toEqual(['1110000000001', '2220000000002']);
    expect(webhook.entries.flatMap((e) => e.changes.map((c) => c.leadgenId))).toEqual([
      '9000000000000011',
      '9000000000000012',
      '9000000000000019',
    ]);
    expect(webhook.entries[1]!.changes[0]).toMatchObject({
      adId: null,
      adgroupId: null,
      pageId: '2220000000002',
    });
  });

  it('lists other fields as ignored and returns no entries for other objects', () => {
    const feed = parseLeadgenWebhook(fixtureText('meta-page-feed-ignored.json'));
    expect(feed.entries).toEqual([
      { pageId: '1110000000001', time: 1764062100, changes: [], ignoredFields: ['feed'] },
    ]);
    expect(parseLeadgenWebhook(fixtureText('cloud-inbound-text-ctwa.json'))).toEqual({
      object: 'whatsapp_business_account',
      entries: [],
    });
  });
});

describe('parseLeadgenWebhook ids', () => {
  it('keeps ids a sender wrote as JSON numbers digit for digit, beyond 2^53', () => {
    const body =
      '{"object":"page","entry":[{"id":1110000000001,"time":1764062100,"changes":[{"field":"leadgen",' +
      '"value":{"leadgen_id":9000000000000000123,"form_id":770000000000001,"page_id":1110000000001,' +
      '"ad_id":23850000000001234567,"created_time":1764062100}}]}]}';
    expect(String(JSON.parse('9000000000000000123'))).not.toBe('9000000000000000123');
    const webhook = parseLeadgenWebhook(body);
    expect(webhook.entries[0]!.pageId).toBe('1110000000001');
    expect(webhook.entries[0]!.changes[0]).toMatchObject({
      leadgenId: '9000000000000000123',
      formId: '770000000000001',
      adId: '23850000000001234567',
      createdTime: 1764062100,
    });
  });

  it('refuses a numeric id that is not an integer', () => {
    const body =
      '{"object":"page","entry":[{"id":"1","time":1,"changes":[{"field":"leadgen","value":{"leadgen_id":1.5,"form_id":"2"}}]}]}';
    expect(reasonOf(() => parseLeadgenWebhook(body))).toMatchObject({ code: 'validation_failed' });
  });
});

describe('parseLeadgenWebhook refusals', () => {
  const cases: [string, string, RegExp][] = [
    ['not JSON', '{"object":', /not valid JSON/],
    ['an array', '[]', /Invalid Meta webhook/],
    ['no object', '{"entry":[]}', /at object/],
    ['entry not an array', '{"object":"page","entry":{}}', /at entry/],
    [
      'a numeric string page id with letters',
      '{"object":"page","entry":[{"id":"12a","time":1}]}',
      /at entry\.0\.id/,
    ],
    ['a missing time', '{"object":"page","entry":[{"id":"12","changes":[]}]}', /at entry\.0\.time/],
    [
      'a leadgen change without leadgen_id',
      '{"object":"page","entry":[{"id":"12","time":1,"changes":[{"field":"leadgen","value":{"form_id":"3"}}]}]}',
      /at entry\.0\.changes\.0\.value\.leadgen_id/,
    ],
    [
      'a leadgen change without a value',
      '{"object":"page","entry":[{"id":"12","time":1,"changes":[{"field":"leadgen"}]}]}',
      /at entry\.0\.changes\.0\.value/,
    ],
  ];
  for (const [what, body, reason] of cases) {
    it(`refuses ${what} with a reason`, () => {
      const error = reasonOf(() => parseLeadgenWebhook(body));
      expect(error.message).toMatch(reason);
      expect(error.code).toMatch(/^(invalid_json|validation_failed)$/);
    });
  }

  it('throws ValidationError (HTTP 400) for bad input', () => {
    try {
      parseLeadgenWebhook('nope');
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).status).toBe(400);
    }
  });
});

describe('the fast reader agrees with the zod schemas', () => {
  const digits = fc.stringMatching(/^\d{1,20}$/);
  const id = fc.oneof(
    { weight: 300, arbitrary: digits },
    fc.constantFrom('', 'abc', '12 3', '1'.repeat(33), '١٢٣'),
    fc.integer(),
    fc.constant(null),
    fc.constant(undefined),
  );
  const time = fc.oneof(
    { weight: 100, arbitrary: fc.integer({ min: 0, max: 2_000_000_000 }) },
    fc.constantFrom(-1, 1.5, '1764062100', null, Number.MAX_SAFE_INTEGER + 2),
  );
  const leadgenFields = {
    leadgen_id: id,
    page_id: id,
    form_id: id,
    ad_id: id,
    adgroup_id: id,
    created_time: time,
    extra: fc.string(),
  };
  const leadgenValue = fc.oneof(
    { weight: 20, arbitrary: fc.record(leadgenFields, { requiredKeys: ['leadgen_id', 'form_id'] }) },
    fc.record(leadgenFields, { requiredKeys: [] }),
    fc.anything(),
  );
  const change = fc.oneof(
    {
      weight: 20,
      arbitrary: fc.record(
        { field: fc.constant('leadgen'), value: leadgenValue },
        { requiredKeys: ['field'] },
      ),
    },
    fc.record({ field: fc.constantFrom('feed', 'mention', ''), value: fc.anything() }),
    fc.record({ field: fc.anything(), value: fc.anything() }, { requiredKeys: [] }),
    fc.anything(),
  );
  const entry = fc.oneof(
    {
      weight: 20,
      arbitrary: fc.record(
        {
          id,
          time,
          changes: fc.oneof({ weight: 20, arbitrary: fc.array(change, { maxLength: 5 }) }, fc.anything()),
        },
        { requiredKeys: ['id', 'time'] },
      ),
    },
    fc.anything(),
  );
  const webhook = fc.oneof(
    {
      weight: 20,
      arbitrary: fc.record(
        {
          object: fc.oneof(
            { weight: 20, arbitrary: fc.constant('page') },
            fc.constantFrom('instagram', '', 3),
          ),
          entry: fc.oneof({ weight: 20, arbitrary: fc.array(entry, { maxLength: 4 }) }, fc.anything()),
        },
        { requiredKeys: ['object'] },
      ),
    },
    fc.anything(),
  );

  it('answers exactly what the zod path answers, or declines and lets zod decide', () => {
    fc.assert(
      fc.property(webhook, (json) => {
        const fast = readLeadgenWebhookFast(json);
        let slow: unknown;
        let slowError: unknown;
        try {
          slow = toLeadgenWebhookWithSchema(json);
        } catch (error) {
          slowError = error;
        }
        if (fast === undefined) {
          // Declining is only allowed where zod refuses.
          expect(slowError).toBeInstanceOf(ValidationError);
        } else {
          expect(slowError).toBeUndefined();
          expect(fast).toEqual(slow);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts every well-formed webhook on the fast path', () => {
    const goodChange = fc.record({
      field: fc.constant('leadgen'),
      value: fc.record(
        {
          leadgen_id: digits,
          page_id: digits,
          form_id: digits,
          ad_id: digits,
          adgroup_id: digits,
          created_time: fc.nat(),
        },
        { requiredKeys: ['leadgen_id', 'form_id'] },
      ),
    });
    const good = fc.record({
      object: fc.constant('page'),
      entry: fc.array(
        fc.record({ id: digits, time: fc.nat(), changes: fc.array(goodChange, { maxLength: 5 }) }),
        {
          maxLength: 4,
        },
      ),
    });
    fc.assert(
      fc.property(good, (json) => {
        const fast = readLeadgenWebhookFast(json);
        expect(fast).toBeDefined();
        expect(fast).toEqual(toLeadgenWebhookWithSchema(json));
      }),
    );
  });
});
