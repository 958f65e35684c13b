/**
 * JSON Logic truthiness: JavaScript's, except that an empty array is false
 * (the JSON Logic specification settles this for every implementation).
 *
 * @example truthy([]) // false
 */
export function truthy(value: unknown): boolean {
  if (value === true) return true;
  if (value === false || value === null || value === undefined) return false;
  if (Array.isArray(value)) return value.length > 0;
  return !!value;
}
