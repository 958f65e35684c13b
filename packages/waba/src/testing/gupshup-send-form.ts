/**
 * A Gupshup send's form fields as Gupshup reads them, with the JSON-valued
 * `message` and `template` fields parsed (kept as text when they are not JSON).
 *
 * @example parseGupshupSendForm('destination=91…&message=%7B%22type%22%3A%22text%22%7D').message // { type: 'text' }
 */
export function parseGupshupSendForm(text: string): Record<string, unknown> {
  const form = new URLSearchParams(text);
  const fields: Record<string, unknown> = Object.fromEntries(form.entries());
  for (const name of ['message', 'template']) {
    const value = form.get(name);
    if (value === null) continue;
    try {
      fields[name] = JSON.parse(value);
    } catch {
      fields[name] = value;
    }
  }
  return fields;
}
