import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { ValidationError } from '../errors/errors.js';

/** An E.164 phone number such as `+919812345678`. */
export type E164 = string;

export interface NormalizePhoneOptions {
  /** ISO 3166-1 alpha-2 country used for numbers written in national form, e.g. `IN`. */
  defaultCountry?: string;
}

/**
 * Normalises a phone number as people type it (spaces, dashes, trunk `0`,
 * `00` prefixes) to E.164. National numbers use `defaultCountry`.
 * Throws a `ValidationError` (code `phone_invalid`) naming the input.
 *
 * @example normalizePhone('098765 43210', { defaultCountry: 'IN' }) // '+919876543210'
 */
export function normalizePhone(input: string, options: NormalizePhoneOptions = {}): E164 {
  const result = tryNormalizePhone(input, options);
  if (result === null) {
    throw new ValidationError(`Not a valid phone number: "${String(input).slice(0, 64)}"`, {
      code: 'phone_invalid',
      details: { input: String(input).slice(0, 64), defaultCountry: options.defaultCountry ?? null },
    });
  }
  return result;
}

/** Like `normalizePhone`, but answers `null` for an invalid number. */
export function tryNormalizePhone(input: string, options: NormalizePhoneOptions = {}): E164 | null {
  if (typeof input !== 'string') return null;
  const trimmed = input.trim();
  if (trimmed.length === 0 || trimmed.length > 64) return null;
  const country = options.defaultCountry?.toUpperCase() as CountryCode | undefined;
  const parsed = parsePhoneNumberFromString(trimmed, country ? { defaultCountry: country } : undefined);
  if (!parsed?.isValid()) return null;
  return parsed.number;
}

/** The ISO country of an E.164 number, or `undefined` when it cannot be told. */
export function phoneCountry(e164: E164): string | undefined {
  return parsePhoneNumberFromString(e164)?.country;
}

/** WhatsApp and Gupshup address users by digits with the country code and no `+`. */
export function toWhatsAppId(e164: E164): string {
  return e164.startsWith('+') ? e164.slice(1) : e164;
}

/** Normalises a WhatsApp id (`919812345678`) to E.164. */
export function fromWhatsAppId(waId: string): E164 {
  return normalizePhone(waId.startsWith('+') ? waId : `+${waId}`);
}
