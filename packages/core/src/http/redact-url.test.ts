import { describe, expect, it } from 'vitest';
import { redactUrl } from './redact-url.js';

describe('redactUrl', () => {
  it('hides the values of secret query parameters and keeps the rest', () => {
    const url =
      'https://graph.facebook.com/v21.0/123?access_token=EAAB&appsecret_proof=abc&fields=id,name&apikey=k1&key=k2&client_secret=s&token=t&sig=x&country_code=91';
    const redacted = redactUrl(url);
    for (const secret of ['EAAB', 'appsecret_proof=abc', 'k1', 'k2', 'secret=s', 'token=t', 'sig=x']) {
      expect(redacted).not.toContain(secret);
    }
    expect(redacted).toContain('access_token=[redacted]');
    expect(redacted).toContain('fields=id%2Cname');
    expect(redacted).toContain('country_code=91');
    expect(redacted.startsWith('https://graph.facebook.com/v21.0/123?')).toBe(true);
  });

  it('hides credentials in the authority and accepts URL objects', () => {
    expect(redactUrl(new URL('https://user:pa55@example.com/x'))).toBe(
      'https://[redacted]:[redacted]@example.com/x',
    );
  });

  it('drops the whole query of something that is not a URL', () => {
    expect(redactUrl('/relative/path?access_token=abc')).toBe('/relative/path?[redacted]');
    expect(redactUrl('/relative/path')).toBe('/relative/path');
  });
});
