import { describe, expect, it } from 'vitest';
import { VpcOriginStandIn } from '../../../scripts/rehearse/vpc-origin-standin.ts';

const CONFIG =
  '<VpcOriginEndpointConfig><Name>ep-alb</Name><Arn>arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/ep/1</Arn>' +
  '<HTTPPort>80</HTTPPort><HTTPSPort>443</HTTPSPort><OriginProtocolPolicy>http-only</OriginProtocolPolicy>' +
  '<OriginSslProtocols><Quantity>1</Quantity><Items><SslProtocol>TLSv1.2</SslProtocol></Items></OriginSslProtocols></VpcOriginEndpointConfig>';
const CREATE = `<CreateVpcOriginRequest xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">${CONFIG}<Tags><Items><Tag><Key>Project</Key><Value>ep</Value></Tag></Items></Tags></CreateVpcOriginRequest>`;

describe('the CloudFront VPC-origin stand-in', () => {
  it('creates, reads, updates with If-Match, lists and deletes a VPC origin', () => {
    const s = new VpcOriginStandIn();
    const created = s.handle('POST', '/2020-05-31/vpc-origin', {}, CREATE)!;
    expect(created.status).toBe(202);
    const id = /<Id>(vo_\w+)<\/Id>/.exec(created.body)![1]!;
    expect(created.body).toContain(CONFIG);
    expect(created.body).toContain('<Status>Deployed</Status>');
    const etag = created.headers.etag!;

    const got = s.handle('GET', `/2020-05-31/vpc-origin/${id}`, {}, '')!;
    expect(got.status).toBe(200);
    expect(got.headers.etag).toBe(etag);

    expect(
      s.handle('PUT', `/2020-05-31/vpc-origin/${id}`, { 'if-match': 'stale' }, CONFIG)!.status,
    ).toBe(412);
    const updated = s.handle(
      'PUT',
      `/2020-05-31/vpc-origin/${id}`,
      { 'if-match': etag },
      CONFIG.replace('ep-alb', 'ep-alb2'),
    )!;
    expect(updated.status).toBe(202);
    expect(updated.body).toContain('<Name>ep-alb2</Name>');

    expect(s.handle('GET', '/2020-05-31/vpc-origin', {}, '')!.body).toContain(`<Id>${id}</Id>`);
    const arn = /<Arn>(arn:aws:cloudfront[^<]+)<\/Arn>/.exec(created.body)![1]!;
    expect(
      s.handle('GET', `/2020-05-31/tagging?Resource=${encodeURIComponent(arn)}`, {}, '')!.body,
    ).toContain('<Key>Project</Key><Value>ep</Value>');

    const deleted = s.handle(
      'DELETE',
      `/2020-05-31/vpc-origin/${id}`,
      { 'if-match': updated.headers.etag },
      '',
    )!;
    expect(deleted.status).toBe(202);
    const gone = s.handle('GET', `/2020-05-31/vpc-origin/${id}`, {}, '')!;
    expect(gone.status).toBe(404);
    expect(gone.body).toContain('<Code>EntityNotFound</Code>');
    expect(s.origins.size).toBe(0);
  });

  it('leaves every other call to moto', () => {
    const s = new VpcOriginStandIn();
    expect(s.handle('GET', '/2020-05-31/distribution', {}, '')).toBeUndefined();
    expect(
      s.handle('GET', '/2020-05-31/tagging?Resource=arn:aws:cloudfront::1:distribution/E1', {}, ''),
    ).toBeUndefined();
    expect(s.handle('POST', '/', {}, 'Action=DescribeVpcs')).toBeUndefined();
  });

  it("puts a distribution origin's VpcOriginConfig back into moto's answers", () => {
    const s = new VpcOriginStandIn();
    const vpc =
      '<VpcOriginConfig><VpcOriginId>vo_1</VpcOriginId><OriginReadTimeout>60</OriginReadTimeout></VpcOriginConfig>';
    const request = `<DistributionConfig><Origins><Quantity>1</Quantity><Items><Origin><Id>alb</Id><DomainName>x</DomainName>${vpc}</Origin></Items></Origins></DistributionConfig>`;
    const motoAnswer =
      '<Distribution><Id>E123</Id><DistributionConfig><Origins><Items><Origin><Id>alb</Id><DomainName>x</DomainName><CustomOriginConfig><HTTPPort>80</HTTPPort></CustomOriginConfig></Origin></Items></Origins></DistributionConfig></Distribution>';
    const created = s.rewriteDistribution('POST', '/2020-05-31/distribution', request, motoAnswer);
    expect(created).toContain(`<Origin><Id>alb</Id><DomainName>x</DomainName>${vpc}</Origin>`);
    const later = s.rewriteDistribution('GET', '/2020-05-31/distribution/E123', '', motoAnswer);
    expect(later).toContain(vpc);
    expect(later).not.toContain('CustomOriginConfig');
    expect(s.rewriteDistribution('GET', '/2020-05-31/distribution/E999', '', motoAnswer)).toBe(
      motoAnswer,
    );
  });
});
