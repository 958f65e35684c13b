import { normalizePhone } from '@leadrelay/core';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { compare, measure, type SuiteResult } from '../harness.ts';

/**
 * Phone normalisation throughput over a mix of the forms leads type, against
 * calling libphonenumber-js directly: the ratio is the cost of our wrapper.
 */
const inputs = [
  '+91 98123 45678',
  '09876543210',
  '9812345678',
  '+1 (415) 555-0132',
  '+44 7911 123456',
  '0091 98123 45678',
  '+971 50 123 4567',
  '98123-45678',
];

export default async function run(): Promise<SuiteResult> {
  let i = 0;
  const rows = await measure('phone', [
    {
      name: 'normalizePhone',
      fn: () => normalizePhone(inputs[i++ % inputs.length]!, { defaultCountry: 'IN' }),
    },
    {
      name: 'libphonenumber-js parse + isValid',
      fn: () => {
        const p = parsePhoneNumberFromString(inputs[i++ % inputs.length]!, { defaultCountry: 'IN' });
        return p?.isValid() ? p.number : null;
      },
    },
  ]);
  return { rows, comparisons: [compare(rows, 'normalizePhone', 'libphonenumber-js parse + isValid')] };
}
