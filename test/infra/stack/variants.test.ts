import { describe, expect, it } from 'vitest';
import { SettingsError } from '../../../infra/config.ts';
import { all, only, synth } from './synth.ts';

describe('stack variants', () => {
  describe('with a domain', () => {
    // GIVEN a domain in a hosted zone known by id
    const s = synth({ domain: { name: 'api.example.com', hostedZoneId: 'Z0123456789' } });

    it('switches to an ACM certificate validated in Route 53, an HTTPS listener and an alias record', () => {
      expect(s.resource.aws_cloudfront_distribution).toBeUndefined();
      expect(only(s.resource, 'aws_acm_certificate')).toMatchObject({
        domain_name: 'api.example.com',
        validation_method: 'DNS',
      });
      const records = Object.entries(s.resource.aws_route53_record ?? {});
      const validation = records.find(([id]) => id.includes('validation'))![1];
      expect(validation).toMatchObject({ zone_id: 'Z0123456789', ttl: 60, allow_overwrite: true });
      expect(String(validation.for_each)).toMatch(/domain_validation_options/);
      expect(
        only(s.resource, 'aws_acm_certificate_validation').validation_record_fqdns,
      ).toBeDefined();
      const aliases = records.filter(([id]) => id.includes('alias')).map(([, r]) => r);
      expect(aliases.map((r) => r.type)).toEqual(['A']);
      for (const r of aliases) {
        expect(r).toMatchObject({ name: 'api.example.com', zone_id: 'Z0123456789' });
        expect((r.alias as { name: string }).name).toMatch(/aws_lb\..+\.dns_name/);
      }
      expect(s.output.endpoint!.value).toBe('https://api.example.com');
    });

    it('terminates TLS on the ALB and redirects HTTP to HTTPS', () => {
      const listeners = all(s.resource, 'aws_lb_listener');
      const https = listeners.find((l) => l.port === 443)!;
      expect(https).toMatchObject({
        protocol: 'HTTPS',
        ssl_policy: expect.stringMatching(/TLS13/),
      });
      expect(String(https.certificate_arn)).toMatch(
        /aws_acm_certificate_validation\..+\.certificate_arn/,
      );
      const http = listeners.find((l) => l.port === 80)!;
      expect(http.default_action).toEqual([
        expect.objectContaining({
          type: 'redirect',
          redirect: expect.objectContaining({ protocol: 'HTTPS', port: '443' }),
        }),
      ]);
    });

    it('tells the controller that one proxy (the ALB) is in front of it', () => {
      const config = all(s.resource, 'aws_s3_object').find(
        (o) => o.key === 'hosts/host-config.json',
      )!;
      const doc = JSON.parse(String(config.content));
      expect(doc.auth.trustedProxies).toBe(1);
      // Behind the ALB alone (600 s idle timeout) the default deadline stays, and callers may ask for more.
      expect(doc.timeouts).toMatchObject({ requestMs: 60_000, maxRequestMs: 598_000 });
    });

    it('looks the zone up by name when no id is given', () => {
      const byName = synth({ domain: { name: 'api.example.com', hostedZoneName: 'example.com' } });
      expect(only(byName.data, 'aws_route53_zone')).toMatchObject({ name: 'example.com' });
    });

    it('admits only the allowed client networks on 80/443', () => {
      const restricted = synth({
        domain: { name: 'api.example.com', hostedZoneId: 'Z0123456789' },
        allowedCidrs: ['203.0.113.0/24'],
      });
      const albIngress = all(restricted.resource, 'aws_vpc_security_group_ingress_rule').filter(
        (r) => r.cidr_ipv4 || r.cidr_ipv6,
      );
      expect(albIngress.map((r) => [r.cidr_ipv4, r.from_port]).sort()).toEqual([
        ['203.0.113.0/24', 443],
        ['203.0.113.0/24', 80],
      ]);
    });
  });

  it('three hosts give an Auto Scaling group of three', () => {
    const asg = only(synth({ hostCount: 3 }).resource, 'aws_autoscaling_group');
    expect(asg).toMatchObject({ min_size: 3, max_size: 3, desired_capacity: 3 });
  });

  it('raises the IMDSv2 hop limit for bridge-network containers only when asked', () => {
    const lt = only(synth({ metadataHopLimit: 2 }).resource, 'aws_launch_template');
    expect(lt.metadata_options).toMatchObject({
      http_tokens: 'required',
      http_put_response_hop_limit: 2,
    });
  });

  it('instance refresh replaces hosts launch-before-terminate when enabled', () => {
    const asg = only(synth({ instanceRefresh: true }).resource, 'aws_autoscaling_group');
    expect(asg.instance_refresh).toMatchObject({
      strategy: 'Rolling',
      preferences: { min_healthy_percentage: 100, max_healthy_percentage: 200 },
    });
  });

  it('fails if the models need more GPUs than the instance has, naming models and GPU counts', () => {
    expect(() =>
      synth({
        models: [
          { hfId: 'org/a', servedName: 'a', gpus: 2 },
          { hfId: 'org/b', servedName: 'b', gpus: 4 },
        ],
      }),
    ).toThrow(/models need 6 GPUs \(a: 2, b: 4\) but g6\.12xlarge has 4/);
    expect(() => synth({ instanceType: 'g6.xlarge' })).toThrow(SettingsError);
  });

  it('writes an S3 backend with native locking, or a DynamoDB lock table', () => {
    const s3 = synth({ backend: { bucket: 'tf-state' } }).terraform.backend as Record<
      string,
      Record<string, unknown>
    >;
    expect(s3.s3).toEqual({
      bucket: 'tf-state',
      key: 'ensembled-perplexity/terraform.tfstate',
      region: 'us-east-1',
      encrypt: true,
      use_lockfile: true,
    });
    const ddb = synth({ backend: { bucket: 'tf-state', dynamodbTable: 'locks' } }).terraform
      .backend as Record<string, Record<string, unknown>>;
    expect(ddb.s3).toMatchObject({ dynamodb_table: 'locks' });
    expect(ddb.s3!.use_lockfile).toBeUndefined();
  });

  it('names resources after the deployment and uses the chosen region', () => {
    const s = synth({ name: 'ppl-eu', region: 'eu-west-1', instanceType: 'g6.24xlarge' });
    expect(s.stack.node.id).toBe('ppl-eu');
    expect(only(s.resource, 'aws_launch_template')).toMatchObject({ instance_type: 'g6.24xlarge' });
    expect(only(s.resource, 'aws_vpc_endpoint').service_name).toBe('com.amazonaws.eu-west-1.s3');
    expect(s.output.create_first_key_command!.value).toContain(
      '--store aws:ppl-eu/api-keys --region eu-west-1',
    );
  });
});
