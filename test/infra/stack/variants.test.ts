import { isAbsolute } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootTimeline } from '../../../infra/boot-timeline.ts';
import { parseSettings, SettingsError } from '../../../infra/config.ts';
import { CLOUDFRONT_POLICIES } from '../../../infra/constructs/ingress.ts';
import { all, only, synth } from './synth.ts';

describe('stack variants', () => {
  describe('with a domain', () => {
    // GIVEN a domain in a hosted zone known by id, in a region other than us-east-1
    const s = synth({
      region: 'eu-west-1',
      domain: { name: 'api.example.com', hostedZoneId: 'Z0123456789' },
    });

    it('answers on the domain through CloudFront with an ACM certificate from us-east-1, validated in Route 53', () => {
      const cdn = only(s.resource, 'aws_cloudfront_distribution');
      expect(cdn.aliases).toEqual(['api.example.com']);
      expect(cdn.viewer_certificate).toMatchObject({
        ssl_support_method: 'sni-only',
        acm_certificate_arn: expect.stringMatching(/aws_acm_certificate_validation\..*cloudfront/),
      });
      const certs = s.resource.aws_acm_certificate ?? {};
      expect(Object.values(certs).map((c) => c.domain_name)).toEqual([
        'api.example.com',
        'api.example.com',
      ]);
      const edge = Object.entries(certs).find(([id]) => id.includes('cloudfront'))![1];
      expect(edge.provider).toBe('aws.us-east-1');
      expect(s.provider.aws).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ alias: 'us-east-1', region: 'us-east-1' }),
        ]),
      );
      const records = Object.entries(s.resource.aws_route53_record ?? {});
      const validation = records.find(([id]) => id.includes('validation'))![1];
      expect(validation).toMatchObject({ zone_id: 'Z0123456789', ttl: 60, allow_overwrite: true });
      expect(String(validation.for_each)).toMatch(/domain_validation_options/);
      const aliases = records.filter(([id]) => id.includes('alias')).map(([, r]) => r);
      expect(aliases.map((r) => r.type).sort()).toEqual(['A', 'AAAA']);
      for (const r of aliases) {
        expect(r).toMatchObject({ name: 'api.example.com', zone_id: 'Z0123456789' });
        expect((r.alias as { name: string }).name).toMatch(
          /aws_cloudfront_distribution\..+\.domain_name/,
        );
      }
      expect(s.output.endpoint!.value).toBe('https://api.example.com');
    });

    it('runs HTTPS end to end: CloudFront reaches the internal ALB over HTTPS with the viewer Host header', () => {
      const [listener] = all(s.resource, 'aws_lb_listener');
      expect(all(s.resource, 'aws_lb_listener')).toHaveLength(1);
      expect(listener).toMatchObject({
        port: 443,
        protocol: 'HTTPS',
        ssl_policy: expect.stringMatching(/TLS13/),
      });
      expect(String(listener!.certificate_arn)).toMatch(/aws_acm_certificate_validation\./);
      expect(only(s.resource, 'aws_lb').internal).toBe(true);
      const origin = only(s.resource, 'aws_cloudfront_vpc_origin');
      expect(origin.vpc_origin_endpoint_config).toEqual([
        expect.objectContaining({ origin_protocol_policy: 'https-only', https_port: 443 }),
      ]);
      const cdn = only(s.resource, 'aws_cloudfront_distribution');
      expect((cdn.default_cache_behavior as Record<string, unknown>).origin_request_policy_id).toBe(
        CLOUDFRONT_POLICIES.allViewer,
      );
    });

    it('tells the controller that CloudFront and the ALB are in front of it', () => {
      const config = all(s.resource, 'aws_s3_object').find(
        (o) => o.key === 'hosts/host-config.json',
      )!;
      const doc = JSON.parse(String(config.content));
      expect(doc.auth.trustedProxies).toBe(2);
      expect(doc.timeouts).toMatchObject({ requestMs: 58_000, maxRequestMs: 58_000 });
    });

    it('looks the zone up by name when no id is given, and shares one certificate in us-east-1', () => {
      const byName = synth({ domain: { name: 'api.example.com', hostedZoneName: 'example.com' } });
      expect(only(byName.data, 'aws_route53_zone')).toMatchObject({ name: 'example.com' });
      expect(only(byName.resource, 'aws_acm_certificate').domain_name).toBe('api.example.com');
    });

    it('admits only the allowed client networks, checked by CloudFront on the viewer address', () => {
      const restricted = synth({
        domain: { name: 'api.example.com', hostedZoneId: 'Z0123456789' },
        allowedCidrs: ['203.0.113.0/24'],
      });
      expect(String(only(restricted.resource, 'aws_cloudfront_function').code)).toContain(
        '[203,0,113,0]',
      );
    });
  });

  it('three hosts give an Auto Scaling group of three, without target tracking', () => {
    const s = synth({ hostCount: 3 });
    const asg = only(s.resource, 'aws_autoscaling_group');
    expect(asg).toMatchObject({ min_size: 3, max_size: 3, desired_capacity: 3 });
    expect(s.resource.aws_autoscaling_policy).toBeUndefined();
  });

  it('minHosts/maxHosts track the vLLM work of the hosts, with a warm-up of at least the boot time', () => {
    const s = synth({ minHosts: 1, maxHosts: 4, targetRequestsPerHost: 48 });
    const asg = only(s.resource, 'aws_autoscaling_group');
    expect(asg).toMatchObject({ min_size: 1, max_size: 4, desired_capacity: 1 });
    // Target tracking owns the size after creation: a redeploy must not reset it.
    expect((asg.lifecycle as { ignore_changes: string[] }).ignore_changes).toContain(
      'desired_capacity',
    );
    const policy = only(s.resource, 'aws_autoscaling_policy');
    const boot = bootTimeline({ models: parseSettings({}).models, rootVolumeThroughputMiBps: 500 });
    expect(policy.policy_type).toBe('TargetTrackingScaling');
    expect(policy.estimated_instance_warmup).toBeGreaterThanOrEqual(boot.totalSeconds);
    expect(asg.default_instance_warmup).toBeGreaterThanOrEqual(boot.totalSeconds);
    expect(policy.target_tracking_configuration).toEqual({
      target_value: 48,
      customized_metric_specification: {
        namespace: 'EnsembledPerplexity',
        metric_name: 'BackendRequests',
        statistic: 'Average',
        metric_dimension: [{ name: 'AutoScalingGroupName', value: 'ensembled-perplexity-hosts' }],
      },
    });
  });

  it('scales on a schedule, e.g. to 0 hosts at night', () => {
    const s = synth({
      minHosts: 1,
      maxHosts: 2,
      schedule: [
        {
          name: 'night',
          recurrence: '0 20 * * *',
          minHosts: 0,
          maxHosts: 0,
          timeZone: 'Europe/Berlin',
        },
        { name: 'morning', recurrence: '0 7 * * 1-5', minHosts: 1, maxHosts: 2, desiredHosts: 1 },
      ],
    });
    const actions = all(s.resource, 'aws_autoscaling_schedule');
    expect(actions).toHaveLength(2);
    expect(actions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          scheduled_action_name: 'night',
          recurrence: '0 20 * * *',
          time_zone: 'Europe/Berlin',
          min_size: 0,
          max_size: 0,
          desired_capacity: -1,
        }),
        expect.objectContaining({
          scheduled_action_name: 'morning',
          min_size: 1,
          desired_capacity: 1,
        }),
      ]),
    );
    expect(() => synth({ hostCount: 2, maxHosts: 3 })).toThrow(/hostCount: give hostCount/);
    expect(() => synth({ minHosts: 3, maxHosts: 2 })).toThrow(/maxHosts: 2 is below minHosts 3/);
  });

  it('pins the AMI by id, or reads an SSM parameter once and ignores its later values', () => {
    const byId = synth({ ami: 'ami-0123456789abcdef0' });
    const lt = only(byId.resource, 'aws_launch_template');
    expect(lt.image_id).toBe('ami-0123456789abcdef0');
    expect(lt.lifecycle).toBeUndefined();
    expect(byId.data.aws_ssm_parameter).toBeUndefined();
    const byParameter = only(synth().resource, 'aws_launch_template');
    expect(byParameter.lifecycle).toEqual({ ignore_changes: ['image_id'] });
    expect(() => synth({ ami: 'ubuntu-latest' })).toThrow(/ami: use an AMI id/);
  });

  it('rejects a VPC range whose load balancer subnets would be smaller than /27', () => {
    expect(() => synth({ vpcCidr: '10.0.0.0/20' })).toThrow(/vpcCidr: use a \/16 to \/19 range/);
    expect(() => synth({ vpcCidr: '10.0.0.0/19' })).not.toThrow();
  });

  it('keeps local state at a relative path (the repository root, seen from the stack directory)', () => {
    const backend = synth().terraform.backend as Record<string, { path: string }>;
    expect(backend.local!.path).toBe('../../../terraform.ensembled-perplexity.tfstate');
    expect(isAbsolute(backend.local!.path)).toBe(false);
  });

  it('offers authenticated Docker Hub pulls through a secret the hosts may read', () => {
    const s = synth({ dockerHubAuth: true });
    const secret = Object.values(s.resource.aws_secretsmanager_secret ?? {}).find(
      (x) => x.name === 'ensembled-perplexity/dockerhub',
    );
    expect(secret).toBeDefined();
    const read = (s.data.aws_iam_policy_document?.fleet_access_5B2B36BF ??
      Object.values(s.data.aws_iam_policy_document ?? {}).find((d) =>
        JSON.stringify(d).includes('ReadDeploymentSecrets'),
      )) as { statement: { sid: string; resources: string[] }[] };
    const statement = read.statement.find((x) => x.sid === 'ReadDeploymentSecrets')!;
    expect(statement.resources.some((r) => r.includes('dockerhub'))).toBe(true);
    expect(synth().resource.aws_secretsmanager_secret).not.toHaveProperty('secrets_dockerhub');
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
