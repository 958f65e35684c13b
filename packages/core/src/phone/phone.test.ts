import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/errors.js';
import { fromWhatsAppId, normalizePhone, phoneCountry, toWhatsAppId, tryNormalizePhone } from './phone.js';

const fixturePhone = (name: string): string => {
  const lead = JSON.parse(
    readFileSync(new URL(`../../../../../shared/fixtures/${name}`, import.meta.url), 'utf8'),
  ) as { field_data: { name: string; values: string[] }[] };
  return lead.field_data.find((f) => f.name === 'phone_number')!.values[0]!;
};

// [input, defaultCountry, E.164]
const valid: [string, string | undefined, string][] = [
  // India: international, national with and without the trunk 0, 00 prefix, punctuation
  ['+91 98123 45678', undefined, '+919812345678'],
  ['+91 98123 45678', 'IN', '+919812345678'],
  ['09876543210', 'IN', '+919876543210'],
  ['98123 45678', 'IN', '+919812345678'],
  ['0091 98123 45678', 'IN', '+919812345678'],
  ['+91-98123-45678', 'IN', '+919812345678'],
  ['(+91) 9812345678', undefined, '+919812345678'],
  ['+91 (0) 98123 45678', undefined, '+919812345678'],
  ['919812345678', 'IN', '+919812345678'],
  ['  +919812345678  ', 'in', '+919812345678'],
  // United States
  ['(415) 555-2671', 'US', '+14155552671'],
  ['+1 415-555-2671', undefined, '+14155552671'],
  ['1-415-555-2671', 'US', '+14155552671'],
  ['415.555.2671', 'US', '+14155552671'],
  ['+1 (212) 736-5000', 'IN', '+12127365000'],
  ['001 415 555 2671', 'GB', '+14155552671'],
  // United Kingdom
  ['020 7946 0958', 'GB', '+442079460958'],
  ['07911 123456', 'GB', '+447911123456'],
  ['+44 (0) 7911 123456', undefined, '+447911123456'],
  ['0044 7911 123456', 'GB', '+447911123456'],
  ['+447911123456', 'US', '+447911123456'],
  // United Arab Emirates
  ['050 123 4567', 'AE', '+971501234567'],
  ['+971 50 123 4567', undefined, '+971501234567'],
  ['00971501234567', 'AE', '+971501234567'],
];

describe('normalizePhone', () => {
  it.each(valid)('%s (%s) → %s', (input, defaultCountry, e164) => {
    const options = defaultCountry ? { defaultCountry } : {};
    expect(normalizePhone(input, options)).toBe(e164);
    expect(tryNormalizePhone(input, options)).toBe(e164);
  });

  it("normalises the Graph fixtures' numbers with the tenant's default country", () => {
    expect(fixturePhone('graph-lead.json')).toBe('+91 98123 45678');
    expect(normalizePhone(fixturePhone('graph-lead.json'), { defaultCountry: 'IN' })).toBe('+919812345678');
    expect(fixturePhone('graph-lead-first-last.json')).toBe('09876543210');
    expect(normalizePhone(fixturePhone('graph-lead-first-last.json'), { defaultCountry: 'IN' })).toBe(
      '+919876543210',
    );
  });

  const invalid: [unknown, string | undefined][] = [
    ['', 'IN'],
    ['   ', 'IN'],
    ['abc', 'IN'],
    ['12', 'IN'],
    ['0000000000', 'IN'],
    ['+91 12345', 'IN'],
    ['+1 555 555 5555', undefined],
    ['+999 1234567', undefined],
    ['09876543210', undefined], // national form without a country to read it in
    [`+91${'9'.repeat(70)}`, 'IN'],
    [9812345678, 'IN'],
  ];

  it.each(invalid)('rejects %s (%s) with phone_invalid naming the input', (input, defaultCountry) => {
    const options = defaultCountry ? { defaultCountry } : {};
    expect(tryNormalizePhone(input as string, options)).toBeNull();
    let error: unknown;
    try {
      normalizePhone(input as string, options);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    const v = error as ValidationError;
    expect(v.code).toBe('phone_invalid');
    expect(v.status).toBe(400);
    expect(v.details).toMatchObject({
      input: String(input).slice(0, 64),
      defaultCountry: defaultCountry ?? null,
    });
    expect(v.message).toContain(String(input).slice(0, 20));
  });
});

describe('phoneCountry', () => {
  it('tells the country of an E.164 number', () => {
    expect(phoneCountry('+919812345678')).toBe('IN');
    expect(phoneCountry('+14155552671')).toBe('US');
    expect(phoneCountry('+442079460958')).toBe('GB');
    expect(phoneCountry('+971501234567')).toBe('AE');
    expect(phoneCountry('not a number')).toBeUndefined();
  });
});

describe('WhatsApp ids', () => {
  it('round-trips every E.164 through the digits-only WhatsApp id', () => {
    for (const [, , e164] of valid) {
      const waId = toWhatsAppId(e164);
      expect(waId).toMatch(/^[1-9]\d+$/);
      expect(fromWhatsAppId(waId)).toBe(e164);
    }
    expect(toWhatsAppId('919812345678')).toBe('919812345678');
    expect(fromWhatsAppId('+919812345678')).toBe('+919812345678');
  });

  it('rejects a WhatsApp id that is not a phone number', () => {
    expect(() => fromWhatsAppId('12')).toThrow(ValidationError);
    expect(() => fromWhatsAppId('abc')).toThrow(expect.objectContaining({ code: 'phone_invalid' }));
  });
});
