import { normalizePhone, phoneCountry } from '@leadrelay/core';

export interface PhoneLookup {
  /** `normalizePhone`, remembered per input and default country. */
  normalize(input: string, defaultCountry: string): string;
  /** `phoneCountry`, remembered per number. */
  country(e164: string): string | undefined;
}

/**
 * Phone parsing with libphonenumber's full metadata costs more than the rest
 * of a policy decision; a client sends to the same numbers again and again, so
 * the answers are kept in a bounded map (oldest entries dropped first).
 * Invalid inputs are not kept: they throw every time.
 *
 * @example const phones = createPhoneLookup(); phones.normalize('098123 45678', 'IN') // '+919812345678'
 */
export function createPhoneLookup(limit = 10_000): PhoneLookup {
  const normalized = new Map<string, string>();
  const countries = new Map<string, string | undefined>();
  const remember = <V>(map: Map<string, V>, key: string, value: V) => {
    if (map.size >= limit) map.delete(map.keys().next().value!);
    map.set(key, value);
    return value;
  };
  return {
    normalize(input, defaultCountry) {
      const key = `${defaultCountry}|${input}`;
      return normalized.get(key) ?? remember(normalized, key, normalizePhone(input, { defaultCountry }));
    },
    country(e164) {
      return countries.has(e164) ? countries.get(e164) : remember(countries, e164, phoneCountry(e164));
    },
  };
}
