/**
 * Who may put the portal in an iframe: the CSP `frame-ancestors` sources a provider names for
 * its own dashboard (`RELAY_PORTAL_FRAME_ANCESTORS`, `-c portalFrameAncestors`). None named: no
 * one (`'none'`), so the portal cannot be framed by a page that would trick a user into clicks.
 */
const SOURCE =
  /^(https:\/\/([a-z0-9-]+(\.[a-z0-9-]+)*|\*\.[a-z0-9-]+(\.[a-z0-9-]+)+)(:\d{1,5})?|http:\/\/(localhost|127\.0\.0\.1)(:\d{1,5})?)$/;

/**
 * The list, comma- or space-separated: `https://` origins (a leading `*.` for the subdomains of a
 * domain of two labels or more: `*.example.com`, not `*.com`),
 * `http://localhost` for development, or `'self'`. Anything else throws, naming it.
 */
export function parseFrameAncestors(raw: string | undefined): string[] {
  const items = (raw ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) {
    if (item !== "'self'" && !SOURCE.test(item.toLowerCase())) {
      throw new Error(
        `"${item}" is not a frame ancestor: give https:// origins (https://dash.example.com, https://*.example.com), http://localhost for development, or 'self'`,
      );
    }
  }
  return items.map((i) => (i === "'self'" ? i : i.toLowerCase()));
}

/** The CSP directive: the sources, or `'none'`. */
export const frameAncestorsDirective = (sources: readonly string[]) =>
  `frame-ancestors ${sources.length ? sources.join(' ') : "'none'"}`;
