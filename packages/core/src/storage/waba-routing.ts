/**
 * The Cloud API `phoneNumberId` a WABA configuration routes by, read the way
 * the SQL index reads it (`provider_config->>'phoneNumberId'`): strings as
 * they are, other JSON values as their JSON text, absent or null as null.
 *
 * @example phoneNumberIdOf({ phoneNumberId: '1234567890' }); // '1234567890'
 */
export function phoneNumberIdOf(providerConfig: Record<string, unknown>): string | null {
  const value = providerConfig.phoneNumberId;
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}
