/**
 * Pure helpers that build API paths (the request module sends them).
 */

/** `segments` url-encoded and joined: `apiPath('repos', 'a b')` is `repos/a%20b`. */
export function apiPath(...segments: string[]): string {
  return segments.map(s => encodeURIComponent(s)).join('/');
}

/** A query string (with its `?`) of the defined values, or `''`. */
export function query(args: Record<string, string | number | boolean | null | undefined>): string {
  const parts = Object.entries(args)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}
