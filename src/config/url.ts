/**
 * A URL as it may be shown in a log line, an error message or a stored record: no user name or
 * password, and every query value and fragment replaced by `[redacted]` (the names stay, so the
 * reader still sees which parameters were sent). Credentials never travel in URLs here: config
 * refuses userinfo (see leaves.ts), and this keeps what a URL's query may still carry out of text.
 */
export const REDACTED = '[redacted]';

export function credentialFreeUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '<not a URL>';
  }
  const origin = `${parsed.protocol}//${parsed.host}`;
  const names = [...parsed.searchParams.keys()].map((name) => `${encodeURIComponent(name)}=${REDACTED}`);
  const query = parsed.search === '' ? '' : `?${names.join('&')}`;
  const fragment = parsed.hash === '' ? '' : `#${REDACTED}`;
  return `${origin}${parsed.pathname}${query}${fragment}`;
}

/** Whether the URL carries a user name or a password (`http://user:pass@host/`). */
export function hasUserinfo(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username !== '' || parsed.password !== '';
  } catch {
    return false;
  }
}
