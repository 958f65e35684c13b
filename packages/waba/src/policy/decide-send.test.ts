import { createManualClock } from '@leadrelay/core/testing';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { FREE_FORM_MESSAGE_TYPES } from '../messages/outbound-message.js';
import { decideSend, type PolicyInput } from './decide-send.js';
import { defaultPolicyRules, type PolicyRuleSet, ruleSetAt } from './policy-rules.js';

const HOUR = 60 * 60 * 1000;
const clock = createManualClock('2026-11-25T10:00:00Z');
const ago = (hours: number) => new Date(clock.now().getTime() - hours * HOUR);
const after = (hours: number) => new Date(clock.now().getTime() + hours * HOUR);

const utility = { name: 'visit_reminder', category: 'UTILITY', status: 'APPROVED' } as const;
const marketing = { name: 'new_launch', category: 'MARKETING', status: 'APPROVED' } as const;
const authentication = { name: 'login_code', category: 'AUTHENTICATION', status: 'APPROVED' } as const;

const decide = (input: Omit<PolicyInput, 'now'>) =>
  decideSend({ now: clock.now(), recipientCountry: 'IN', ...input });

beforeEach(() => clock.set('2026-11-25T10:00:00Z'));

// One test per row of the README's decision table, in the same order.
describe('decideSend decision table', () => {
  it('1. a lead who opted out gets nothing, not even a template', () => {
    for (const input of [
      { kind: 'text' as const, lastInboundAt: ago(1) },
      { kind: 'template' as const, template: utility, lastInboundAt: ago(1) },
    ]) {
      const d = decide({ ...input, optedOut: true });
      expect(d).toMatchObject({ allowed: false, reason: 'opted_out', pricingCategory: null, billable: null });
    }
  });

  it('2. a template that is not APPROVED is refused', () => {
    for (const status of ['PENDING', 'REJECTED', 'PAUSED', 'DISABLED'] as const) {
      const d = decide({ kind: 'template', template: { ...utility, status }, lastInboundAt: ago(1) });
      expect(d).toMatchObject({ allowed: false, reason: 'template_not_approved', templateRequired: true });
      expect(d.explanation).toContain(status);
    }
  });

  it('3. a marketing template to a lead who stopped marketing messages is refused', () => {
    const d = decide({
      kind: 'template',
      template: marketing,
      lastInboundAt: ago(1),
      marketingOptedOut: true,
    });
    expect(d).toMatchObject({ allowed: false, reason: 'marketing_opted_out' });
    expect(decide({ kind: 'template', template: utility, marketingOptedOut: true }).allowed).toBe(true);
  });

  it('4. a marketing template to a United States number is refused (paused since April 2025)', () => {
    const d = decide({
      kind: 'template',
      template: marketing,
      recipientCountry: 'US',
      lastInboundAt: ago(1),
    });
    expect(d).toMatchObject({ allowed: false, reason: 'marketing_paused_us', ruleSetId: 'pmp-2025-07' });
    expect(decide({ kind: 'template', template: marketing, recipientCountry: 'CA' }).allowed).toBe(true);
    expect(decide({ kind: 'template', template: utility, recipientCountry: 'US' }).allowed).toBe(true);
  });

  it('5. a marketing template beyond the per-lead cap is refused', () => {
    const d = decide({ kind: 'template', template: marketing, recentMarketingSends: 2, marketingCap: 2 });
    expect(d).toMatchObject({ allowed: false, reason: 'marketing_cap_reached', templateRequired: true });
    expect(
      decide({ kind: 'template', template: marketing, recentMarketingSends: 1, marketingCap: 2 }).allowed,
    ).toBe(true);
    expect(
      decide({ kind: 'template', template: marketing, recentMarketingSends: 9, marketingCap: null }).allowed,
    ).toBe(true);
  });

  it('6. free-form to a lead who never wrote needs a template', () => {
    for (const kind of FREE_FORM_MESSAGE_TYPES) {
      const d = decide({ kind, lastInboundAt: null });
      expect(d).toMatchObject({
        allowed: false,
        reason: 'template_required',
        templateRequired: true,
        windowOpen: false,
        windowExpiresAt: null,
      });
    }
  });

  it('7. free-form 24 hours or more after the lead last wrote is window_closed', () => {
    const d = decide({ kind: 'text', lastInboundAt: ago(24) });
    expect(d).toMatchObject({
      allowed: false,
      reason: 'window_closed',
      templateRequired: true,
      windowOpen: false,
    });
    expect(d.windowExpiresAt).toEqual(clock.now());
    expect(d.explanation).toContain('closed at 2026-11-25T10:00:00.000Z');
    expect(decide({ kind: 'buttons', lastInboundAt: ago(30) }).reason).toBe('window_closed');
  });

  it('8. free-form inside the 24-hour window is a free service message', () => {
    const d = decide({ kind: 'text', lastInboundAt: ago(23.99) });
    expect(d).toMatchObject({
      allowed: true,
      reason: 'service_window_open',
      templateRequired: false,
      pricingCategory: 'service',
      billable: false,
      pricingType: 'free_customer_service',
      windowOpen: true,
    });
    expect(d.windowExpiresAt).toEqual(after(0.01));
  });

  it('9. a utility template inside the window is free', () => {
    expect(decide({ kind: 'template', template: utility, lastInboundAt: ago(2) })).toMatchObject({
      allowed: true,
      reason: 'template_in_service_window',
      pricingCategory: 'utility',
      billable: false,
      pricingType: 'free_customer_service',
    });
  });

  it('10. a marketing template inside the window is billed', () => {
    expect(decide({ kind: 'template', template: marketing, lastInboundAt: ago(2) })).toMatchObject({
      allowed: true,
      reason: 'template_in_service_window',
      pricingCategory: 'marketing',
      billable: true,
      pricingType: 'regular',
    });
  });

  it('11. an authentication template inside the window is billed', () => {
    expect(decide({ kind: 'template', template: authentication, lastInboundAt: ago(2) })).toMatchObject({
      allowed: true,
      pricingCategory: 'authentication',
      billable: true,
    });
  });

  it('12. a utility template outside the window is billed', () => {
    expect(decide({ kind: 'template', template: utility, lastInboundAt: ago(48) })).toMatchObject({
      allowed: true,
      reason: 'template_outside_service_window',
      templateRequired: true,
      pricingCategory: 'utility',
      billable: true,
      pricingType: 'regular',
    });
  });

  it('13. a marketing template outside the window is billed', () => {
    expect(decide({ kind: 'template', template: marketing, lastInboundAt: null })).toMatchObject({
      allowed: true,
      reason: 'template_outside_service_window',
      pricingCategory: 'marketing',
      billable: true,
    });
  });

  it('14. an authentication template outside the window is billed', () => {
    expect(decide({ kind: 'template', template: authentication, lastInboundAt: ago(100) })).toMatchObject({
      allowed: true,
      pricingCategory: 'authentication',
      billable: true,
    });
  });

  it('15. the first answer within 24 h of an ad or Page entry opens a free 72-hour window', () => {
    for (const source of ['ctwa', 'page_cta'] as const) {
      const d = decide({ kind: 'text', lastInboundAt: ago(3), entryPoint: { source, at: ago(3) } });
      expect(d).toMatchObject({
        allowed: true,
        reason: 'free_entry_point',
        opensFreeEntryPoint: true,
        pricingCategory: 'service',
        billable: false,
        pricingType: 'free_entry_point',
      });
      expect(d.freeEntryPointExpiresAt).toEqual(after(72));
    }
  });

  it('16. inside the free window every template is free, even after the 24-hour window closed', () => {
    const entryPoint = { source: 'ctwa' as const, at: ago(50), qualifyingReplyAt: ago(49) };
    const d = decide({ kind: 'template', template: marketing, lastInboundAt: ago(50), entryPoint });
    expect(d).toMatchObject({
      allowed: true,
      reason: 'free_entry_point',
      opensFreeEntryPoint: false,
      pricingCategory: 'marketing',
      billable: false,
      pricingType: 'free_entry_point',
      templateRequired: true,
      windowOpen: false,
    });
    expect(d.freeEntryPointExpiresAt).toEqual(after(23));
  });

  it('17. free-form inside the free window still needs the 24-hour window', () => {
    const entryPoint = { source: 'ctwa' as const, at: ago(50), qualifyingReplyAt: ago(49) };
    const d = decide({ kind: 'text', lastInboundAt: ago(50), entryPoint });
    expect(d).toMatchObject({ allowed: false, reason: 'window_closed', templateRequired: true });
    expect(d.freeEntryPointExpiresAt).toEqual(after(23));
  });

  it('18. an entry point answered too late (after 24 h) gives no free window', () => {
    const d = decide({
      kind: 'template',
      template: utility,
      lastInboundAt: ago(25),
      entryPoint: { source: 'ctwa', at: ago(25) },
    });
    expect(d).toMatchObject({
      reason: 'template_outside_service_window',
      billable: true,
      freeEntryPointExpiresAt: null,
    });
    const late = decide({
      kind: 'template',
      template: utility,
      lastInboundAt: ago(30),
      entryPoint: { source: 'ctwa', at: ago(30), qualifyingReplyAt: ago(2) },
    });
    expect(late).toMatchObject({ reason: 'template_outside_service_window', billable: true });
  });

  it('19. the free window ends 72 h after the qualifying answer', () => {
    const entryPoint = { source: 'page_cta' as const, at: ago(73), qualifyingReplyAt: ago(72) };
    const d = decide({ kind: 'template', template: marketing, lastInboundAt: ago(73), entryPoint });
    expect(d).toMatchObject({
      reason: 'template_outside_service_window',
      billable: true,
      freeEntryPointExpiresAt: null,
    });
  });

  it('20. decisions use the rules in force at `now`: before April 2025 US marketing was not paused', () => {
    clock.set('2025-03-15T12:00:00Z');
    const d = decide({ kind: 'template', template: marketing, recipientCountry: 'US' });
    expect(d).toMatchObject({ allowed: true, ruleSetId: 'cbp-2024-11', billable: true });
    clock.set('2025-05-15T12:00:00Z');
    expect(decide({ kind: 'template', template: marketing, recipientCountry: 'US' })).toMatchObject({
      allowed: false,
      reason: 'marketing_paused_us',
      ruleSetId: 'cbp-2025-04',
    });
  });
});

describe('decideSend: rules as data', () => {
  it('a new rule set with a later effectiveFrom changes decisions from that instant only', () => {
    const base = defaultPolicyRules.at(-1)!;
    const change: PolicyRuleSet = {
      ...base,
      id: 'hypothetical-2027-01',
      effectiveFrom: '2027-01-01T00:00:00Z',
      freeTemplateCategoriesInServiceWindow: [],
      marketingPauses: [],
    };
    const rules = [...defaultPolicyRules, change];
    const input = { kind: 'template' as const, template: utility, lastInboundAt: ago(1), rules };
    expect(decide(input)).toMatchObject({ ruleSetId: 'pmp-2025-07', billable: false });
    clock.set('2027-01-01T00:00:00Z');
    expect(decide({ ...input, lastInboundAt: ago(1) })).toMatchObject({
      ruleSetId: 'hypothetical-2027-01',
      billable: true,
    });
  });

  it('ruleSetAt picks the latest set not after the instant, and the earliest before all', () => {
    expect(ruleSetAt(new Date('2025-07-01T00:00:00Z')).id).toBe('pmp-2025-07');
    expect(ruleSetAt(new Date('2025-06-30T23:59:59Z')).id).toBe('cbp-2025-04');
    expect(ruleSetAt(new Date('2020-01-01T00:00:00Z')).id).toBe('cbp-2024-11');
    // Order of the list does not matter.
    expect(ruleSetAt(new Date('2025-08-01T00:00:00Z'), [...defaultPolicyRules].reverse()).id).toBe(
      'pmp-2025-07',
    );
  });

  it('an empty rule list or an unreadable effectiveFrom is a ConfigurationError with a code', () => {
    const configuration = expect.objectContaining({
      name: 'ConfigurationError',
      code: 'policy_rules_invalid',
    });
    expect(() => ruleSetAt(new Date(), [])).toThrow(configuration);
    const broken = { ...defaultPolicyRules[0]!, id: 'broken', effectiveFrom: 'soon' } as PolicyRuleSet;
    expect(() => ruleSetAt(new Date(), [broken])).toThrow(configuration);
  });

  it('a template decision without the template details is a ValidationError', () => {
    expect(() => decide({ kind: 'template' })).toThrow(
      expect.objectContaining({ code: 'template_details_required' }),
    );
  });

  it('is total and consistent for any input (property)', () => {
    const kinds = [
      'text',
      'template',
      'image',
      'video',
      'audio',
      'document',
      'buttons',
      'list',
      'location',
    ] as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...kinds),
        fc.option(fc.integer({ min: 0, max: 200 * HOUR }), { nil: null }),
        fc.constantFrom('MARKETING', 'UTILITY', 'AUTHENTICATION'),
        fc.constantFrom('APPROVED', 'PENDING', 'PAUSED'),
        fc.boolean(),
        fc.option(
          fc.record({
            at: fc.integer({ min: 0, max: 200 * HOUR }),
            reply: fc.option(fc.integer({ min: 0, max: 30 * HOUR })),
          }),
        ),
        fc.constantFrom('IN', 'US', 'BR'),
        (kind, inboundAgo, category, status, optedOut, entry, country) => {
          const d = decideSend({
            now: clock.now(),
            kind,
            template: kind === 'template' ? { category, status } : null,
            lastInboundAt: inboundAgo === null ? null : new Date(clock.now().getTime() - inboundAgo),
            entryPoint: entry
              ? {
                  source: 'ctwa',
                  at: new Date(clock.now().getTime() - entry.at),
                  qualifyingReplyAt:
                    entry.reply === null ? null : new Date(clock.now().getTime() - entry.at + entry.reply),
                }
              : null,
            optedOut,
            recipientCountry: country,
          });
          if (optedOut) expect(d.allowed).toBe(false);
          if (d.allowed) {
            expect(d.pricingCategory).not.toBeNull();
            expect(typeof d.billable).toBe('boolean');
            if (kind !== 'template') expect(d.windowOpen).toBe(true);
            if (d.pricingCategory === 'service') expect(d.billable).toBe(false);
          } else {
            expect(d.pricingCategory).toBeNull();
          }
          expect(d.explanation.length).toBeGreaterThan(10);
        },
      ),
    );
  });
});
