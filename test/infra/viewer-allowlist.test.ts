import { describe, expect, it } from 'vitest';
import { parseCidr, viewerAllowlistCode } from '../../infra/constructs/viewer-allowlist.ts';
import { all, only, synth } from './stack/synth.ts';

type Handler = (event: { viewer: { ip: string }; request: object }) => object;

/** Loads the generated function the way the CloudFront runtime would: a script defining `handler`. */
function load(cidrs: string[]): Handler {
  return new Function(`${viewerAllowlistCode(cidrs)}\nreturn handler;`)() as Handler;
}

describe('viewer allow list (CloudFront Function)', () => {
  const request = { uri: '/v1/perplexity' };
  const handler = load(['203.0.113.0/24', '198.51.100.7/32', '2001:db8:abcd::/48']);
  const verdict = (ip: string) => handler({ viewer: { ip }, request }) === request;

  it('lets allowed IPv4 and IPv6 viewers through', () => {
    expect(verdict('203.0.113.0')).toBe(true);
    expect(verdict('203.0.113.255')).toBe(true);
    expect(verdict('198.51.100.7')).toBe(true);
    expect(verdict('2001:db8:abcd::1')).toBe(true);
    expect(verdict('2001:0DB8:ABCD:0012:0000:0000:0000:0001')).toBe(true);
    expect(verdict('2001:db8:abcd:ffff:ffff:ffff:ffff:ffff')).toBe(true);
  });

  it('answers 403 to everyone else, and to addresses it cannot parse', () => {
    expect(handler({ viewer: { ip: '203.0.114.1' }, request })).toEqual({
      statusCode: 403,
      statusDescription: 'Forbidden',
    });
    for (const ip of [
      '198.51.100.8',
      '2001:db8:abce::1',
      '::1',
      '::ffff:203.0.113.5',
      'garbage',
      '1.2.3',
      '',
    ]) {
      expect(verdict(ip), ip).toBe(false);
    }
  });

  it('handles odd prefix lengths and the IPv4-in-IPv6 notation', () => {
    const h = load(['10.0.0.0/9', '::ffff:0:0/96']);
    expect(h({ viewer: { ip: '10.127.255.255' }, request })).toBe(request);
    expect(h({ viewer: { ip: '10.128.0.0' }, request })).not.toBe(request);
    expect(h({ viewer: { ip: '::ffff:192.0.2.1' }, request })).toBe(request);
  });

  it('rejects malformed networks at synth time, naming them', () => {
    expect(parseCidr('2001:db8::/32')).toEqual({
      bytes: [32, 1, 13, 184, ...Array(12).fill(0)],
      prefix: 32,
    });
    for (const bad of ['10.0.0.0/33', '10.0.0/8', '1::2::3/64', '10.0.0.0', 'fe80::/129']) {
      expect(() => parseCidr(bad)).toThrow(`allowedCidrs: ${bad} is not`);
    }
  });

  it('is attached to CloudFront as a viewer-request function when clients are restricted without a domain', () => {
    const s = synth({ allowedCidrs: ['203.0.113.0/24'] });
    const fn = only(s.resource, 'aws_cloudfront_function');
    expect(fn).toMatchObject({ runtime: 'cloudfront-js-2.0', publish: true });
    expect(String(fn.code)).not.toMatch(/(?<!\$)\$\{|(?<!%)%\{/);
    const behavior = only(s.resource, 'aws_cloudfront_distribution')
      .default_cache_behavior as Record<string, unknown>;
    expect(behavior.function_association).toEqual([
      {
        event_type: 'viewer-request',
        function_arn: expect.stringMatching(/aws_cloudfront_function\..+\.arn/),
      },
    ]);
    expect(all(synth().resource, 'aws_cloudfront_function')).toEqual([]);
  });
});
