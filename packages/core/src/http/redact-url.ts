import { isSecretName } from '../observability/logger.js';

// Short names that are secrets in query strings but too common as substrings to match loosely.
const SECRET_PARAM = /^(key|sig|code|pass|pwd|auth)$/i;

/**
 * A URL safe to log: the values of secret-looking query parameters
 * (`access_token`, `appsecret_proof`, `apikey`, `token`, `key`, `secret`, …)
 * and any user:password part are replaced by `[redacted]`.
 *
 * @example redactUrl('https://graph.facebook.com/v21.0/1?access_token=abc') // '…?access_token=[redacted]'
 */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    // Not a URL we can take apart: drop the whole query rather than risk printing it.
    const text = String(url);
    const query = text.indexOf('?');
    return query === -1 ? text : `${text.slice(0, query)}?[redacted]`;
  }
  if (parsed.username) parsed.username = '[redacted]';
  if (parsed.password) parsed.password = '[redacted]';
  for (const name of new Set(parsed.searchParams.keys())) {
    if (isSecretName(name) || SECRET_PARAM.test(name)) parsed.searchParams.set(name, '[redacted]');
  }
  // URLSearchParams percent-encodes the brackets; the marker reads better as written.
  return parsed.toString().replaceAll('%5Bredacted%5D', '[redacted]');
}
