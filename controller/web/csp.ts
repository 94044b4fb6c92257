/**
 * @module
 * The Content-Security-Policy of the web pages. Keys are typed into these pages, so only the controller's own
 * scripts and styles may run (no inline script, no other origin), and the pages talk only to their own origin.
 * `data:` images are Swagger UI's icons, embedded in its stylesheet.
 */
export const WEB_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
