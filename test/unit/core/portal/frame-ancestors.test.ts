import { describe, expect, it } from 'vitest';
import {
  frameAncestorsDirective,
  parseFrameAncestors,
} from '../../../../functions/core/portal/frame-ancestors.ts';

describe('the portal’s frame ancestors', () => {
  it('lets no page frame the portal unless the provider names its dashboard', () => {
    expect(parseFrameAncestors(undefined)).toEqual([]);
    expect(frameAncestorsDirective([])).toBe("frame-ancestors 'none'");
  });

  it('takes https origins, subdomain wildcards, localhost for development and self, comma- or space-separated', () => {
    const list = parseFrameAncestors(
      "https://Dash.Example.com, https://*.example.org:8443 http://localhost:5173 'self'",
    );
    expect(list).toEqual([
      'https://dash.example.com',
      'https://*.example.org:8443',
      'http://localhost:5173',
      "'self'",
    ]);
    expect(frameAncestorsDirective(list)).toBe(
      "frame-ancestors https://dash.example.com https://*.example.org:8443 http://localhost:5173 'self'",
    );
  });

  it.each([
    'http://dash.example.com',
    'https://*.com',
    'https://*',
    '*',
    'https://a.example.com/path',
    "'unsafe-inline'",
    'javascript:alert(1)',
    'https://a;b',
  ])('refuses %s, naming it', (item) => {
    expect(() => parseFrameAncestors(item)).toThrow(item);
  });
});
