import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Testing } from 'cdktf';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AutoscalingGroup } from '@cdktf/provider-aws/lib/autoscaling-group/index.js';
import { CloudfrontDistribution } from '@cdktf/provider-aws/lib/cloudfront-distribution/index.js';
import { DataAwsSsmParameter } from '@cdktf/provider-aws/lib/data-aws-ssm-parameter/index.js';
import { LbTargetGroup } from '@cdktf/provider-aws/lib/lb-target-group/index.js';
import { parseConfig } from '../../../controller/config.ts';
import { DLAMI_SSM_PARAMETER } from '../../../infra/constructs/gpu-fleet.ts';
import { CLOUDFRONT_POLICIES } from '../../../infra/constructs/ingress.ts';
import { EMPTY_KEY_STORE } from '../../../infra/constructs/secrets.ts';
import { bootTimeline } from '../../../infra/boot-timeline.ts';
import { parseSettings } from '../../../infra/config.ts';
import { all, only, synth } from './synth.ts';
import { tempDir } from '../../helpers/temp-dir.ts';
import { requireTool, runWithTool } from '../host/tools.ts';

/** The rendered user data, as the host receives it, with the bucket reference left as an expression. */
function userDataOf(s: ReturnType<typeof synth>): string {
  const lt = only(s.resource, 'aws_launch_template');
  // gzip-compressed by Terraform (cloud-init unpacks it): EC2's 16 KB limit applies to the compressed bytes.
  const local = /^\$\{base64gzip\(local\.([^)]+)\)\}$/.exec(String(lt.user_data))?.[1];
  expect(local).toBeDefined();
  return String(s.locals[local!]);
}

describe('stack with default settings', () => {
  // GIVEN an empty cdktf.json context (every setting at its default)
  const s = synth();

  it('runs one g6.12xlarge Auto Scaling group, sized 1, with EC2 health checks and a grace period sized from the boot steps', () => {
    const grace = bootTimeline({
      models: parseSettings({}).models,
      rootVolumeThroughputMiBps: 500,
    }).graceSeconds;
    expect(
      Testing.toHaveResourceWithProperties(s.json, AutoscalingGroup.tfResourceType, {
        min_size: 1,
        max_size: 1,
        desired_capacity: 1,
        // ELB health would terminate a host whose readiness dips (a vLLM restart); the host watchdog decides.
        health_check_type: 'EC2',
        health_check_grace_period: grace,
        default_instance_warmup: grace,
      }),
    ).toBe(true);
    const asg = only(s.resource, 'aws_autoscaling_group');
    expect(asg.vpc_zone_identifier).toHaveLength(2);
    expect(String((asg.launch_template as { version: string }).version)).toMatch(/latest_version/);
    expect(only(s.resource, 'aws_launch_template').instance_type).toBe('g6.12xlarge');
  });

  it('launches from the DLAMI SSM parameter with IMDSv2 required and an encrypted gp3 root volume', () => {
    expect(
      Testing.toHaveDataSourceWithProperties(s.json, DataAwsSsmParameter.tfResourceType, {
        name: DLAMI_SSM_PARAMETER,
      }),
    ).toBe(true);
    expect(DLAMI_SSM_PARAMETER).toBe(
      '/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-24.04/latest/ami-id',
    );
    const lt = only(s.resource, 'aws_launch_template');
    expect(lt.image_id).toMatch(/^\$\{data\.aws_ssm_parameter\.[^.]+\.insecure_value\}$/);
    expect(lt.metadata_options).toEqual(
      expect.objectContaining({ http_tokens: 'required', http_put_response_hop_limit: 1 }),
    );
    expect(lt.block_device_mappings).toEqual([
      expect.objectContaining({
        ebs: expect.objectContaining({ encrypted: 'true', volume_type: 'gp3', volume_size: 200 }),
      }),
    ]);
  });

  it('serves HTTPS through CloudFront (viewer HTTPS only, no caching, all methods) to the internal ALB through a VPC origin', () => {
    expect(Testing.toHaveResource(s.json, CloudfrontDistribution.tfResourceType)).toBe(true);
    const cdn = only(s.resource, 'aws_cloudfront_distribution');
    expect(cdn.viewer_certificate).toEqual({ cloudfront_default_certificate: true });
    expect(cdn.default_cache_behavior).toMatchObject({
      viewer_protocol_policy: 'https-only',
      cache_policy_id: CLOUDFRONT_POLICIES.cachingDisabled,
      origin_request_policy_id: CLOUDFRONT_POLICIES.allViewerExceptHostHeader,
    });
    expect(
      (cdn.default_cache_behavior as { allowed_methods: string[] }).allowed_methods,
    ).toHaveLength(7);
    const [origin] = cdn.origin as Record<string, unknown>[];
    expect(origin!.domain_name).toMatch(/^\$\{aws_lb\.[^.]+\.dns_name\}$/);
    expect(origin!.custom_origin_config).toBeUndefined();
    expect(origin!.vpc_origin_config).toEqual(
      expect.objectContaining({
        vpc_origin_id: expect.stringMatching(/^\$\{aws_cloudfront_vpc_origin\.[^.]+\.id\}$/),
        origin_read_timeout: 60,
      }),
    );
    const vpcOrigin = only(s.resource, 'aws_cloudfront_vpc_origin');
    expect(vpcOrigin.vpc_origin_endpoint_config).toEqual([
      expect.objectContaining({
        arn: expect.stringMatching(/^\$\{aws_lb\.[^.]+\.arn\}$/),
        origin_protocol_policy: 'http-only',
        http_port: 80,
      }),
    ]);
    expect(s.output.endpoint!.value).toMatch(
      /^https:\/\/\$\{aws_cloudfront_distribution\.[^.]+\.domain_name\}$/,
    );
  });

  it('keeps the ALB internal, in private subnets, reachable only from inside the VPC: no prefix list, no origin secret', () => {
    const lb = only(s.resource, 'aws_lb');
    expect(lb.internal).toBe(true);
    expect(lb.idle_timeout).toBe(600);
    for (const subnet of lb.subnets as string[]) {
      const id = /^\$\{aws_subnet\.([^.]+)\.id\}$/.exec(subnet)?.[1];
      expect(s.resource.aws_subnet?.[id!]?.map_public_ip_on_launch).not.toBe(true);
      expect(id).toMatch(/lb/);
    }
    expect(s.data.aws_ec2_managed_prefix_list).toBeUndefined();
    expect(s.resource.terraform_data).toBeUndefined();
    expect(s.resource.aws_lb_listener_rule).toBeUndefined();
    const albIngress = all(s.resource, 'aws_vpc_security_group_ingress_rule').filter((r) =>
      String(r.security_group_id).includes('alb'),
    );
    expect(albIngress).toEqual([
      expect.objectContaining({ cidr_ipv4: '10.0.0.0/16', from_port: 80, to_port: 80 }),
    ]);
    expect(only(s.resource, 'aws_lb_listener').default_action).toEqual([
      expect.objectContaining({ type: 'forward' }),
    ]);
  });

  it('names the target group by prefix, so a replacement never collides with the group it replaces', () => {
    const tg = only(s.resource, 'aws_lb_target_group');
    expect(tg.name).toBeUndefined();
    expect(tg.name_prefix).toBe('ep-tg-');
    expect(tg.lifecycle).toEqual({ create_before_destroy: true });
  });

  it('health-checks the controller on /readyz at the controller port', () => {
    expect(
      Testing.toHaveResourceWithProperties(s.json, LbTargetGroup.tfResourceType, {
        port: 8080,
        health_check: { path: '/readyz', matcher: '200' },
      }),
    ).toBe(true);
  });

  it('creates log groups with retention that destroy deletes', () => {
    const groups = all(s.resource, 'aws_cloudwatch_log_group');
    expect(groups.length).toBeGreaterThan(0);
    for (const g of groups) {
      expect(g.retention_in_days).toBe(30);
      expect(g.skip_destroy).not.toBe(true);
    }
  });

  it('creates the HF token secret without a value and the key store with an empty key set', () => {
    const secrets = s.resource.aws_secretsmanager_secret ?? {};
    expect(
      Object.values(secrets)
        .map((x) => x.name)
        .sort(),
    ).toEqual(['ensembled-perplexity/api-keys', 'ensembled-perplexity/hf-token']);
    for (const x of Object.values(secrets)) expect(x.recovery_window_in_days).toBe(0);
    const version = only(s.resource, 'aws_secretsmanager_secret_version');
    expect(version.secret_id).toMatch(/api-keys/);
    expect(JSON.parse(String(version.secret_string))).toEqual({ version: 1, keys: [] });
    expect(version.secret_string).toBe(EMPTY_KEY_STORE);
    expect(version.lifecycle).toEqual({ ignore_changes: ['secret_string'] });
  });

  it('leaves nothing behind on destroy: force-destroyed bucket, no deletion protection', () => {
    expect(only(s.resource, 'aws_s3_bucket').force_destroy).toBe(true);
    expect(only(s.resource, 'aws_lb').enable_deletion_protection).toBe(false);
    expect(only(s.resource, 'aws_eip').domain).toBe('vpc');
    expect(s.resource.aws_instance).toBeUndefined();
  });

  it('uploads the controller bundle (content-addressed) and the host config', () => {
    const objects = all(s.resource, 'aws_s3_object');
    const bundle = objects.find((o) => String(o.key).endsWith('controller.mjs'))!;
    expect(bundle.key).toMatch(/^hosts\/controller\/[0-9A-F]+\/controller\.mjs$/);
    expect(bundle.source_hash).toBeDefined();
    const config = objects.find((o) => o.key === 'hosts/host-config.json')!;
    const doc = JSON.parse(String(config.content)) as {
      port: number;
      models: { name: string }[];
      auth: object;
      timeouts: object;
      minModels: number;
    };
    expect(doc.port).toBe(8080);
    expect(doc.models.map((m) => m.name)).toEqual([
      'vicuna-7b',
      'llama-2-7b',
      'phi-2',
      'mistral-7b',
    ]);
    expect(() => parseConfig(doc)).not.toThrow();
    // CloudFront and the ALB both append to X-Forwarded-For; /metrics (per-key-id counters, backend state)
    // needs a key once deployed.
    expect(doc.auth).toEqual({
      store: 'aws:ensembled-perplexity/api-keys',
      region: 'us-east-1',
      trustedProxies: 2,
      metricsRequireKey: true,
    });
    // The load balancer's readiness is a quorum: a majority of the four models.
    expect(doc.minModels).toBe(2);
    expect(parseConfig(doc).minModels).toBe(2);
    // Deadlines end before CloudFront's 60 s origin timeout.
    expect(doc.timeouts).toMatchObject({ requestMs: 58_000, maxRequestMs: 58_000 });
  });

  it('places host subnets only in zones that offer the instance type', () => {
    const offerings = only(s.data, 'aws_ec2_instance_type_offerings');
    expect(offerings).toMatchObject({
      location_type: 'availability-zone',
      filter: [{ name: 'instance-type', values: ['g6.12xlarge'] }],
    });
    // Terraform JSON reads conditions as templates: a bare expression would be a constant string.
    expect(offerings.lifecycle).toEqual({
      postcondition: [
        {
          condition: '${length(self.locations) > 0}',
          error_message: expect.stringMatching(
            /g6\.12xlarge is not offered in any availability zone/,
          ),
        },
      ],
    });
    const gpuZonesLocal = Object.entries(s.locals).find(([, v]) =>
      String(v).includes('data.aws_ec2_instance_type_offerings'),
    )![0];
    for (const [id, subnet] of Object.entries(s.resource.aws_subnet ?? {})) {
      if (id.includes('private'))
        expect(subnet.availability_zone).toContain(`local.${gpuZonesLocal}`);
    }
  });

  it('renders user data whose only Terraform expression is the artifacts bucket', () => {
    const text = userDataOf(s);
    const expressions = text.match(/(?<!\$)\$\{[^}]*\}/g) ?? [];
    expect(new Set(expressions)).toEqual(
      new Set(['${aws_s3_bucket.artifacts_bucket_A41425E9.bucket}']),
    );
    expect(text).not.toMatch(/(?<!%)%\{/);
    const asHost = text
      .replace(/\$\{aws_s3_bucket[^}]+\}/g, 'ep-artifacts-bucket')
      .replace(/\$\$\{/g, '${');
    expect(asHost.startsWith('#cloud-config\n')).toBe(true);
    expect(gzipSync(asHost, { level: 9 }).length).toBeLessThan(16 * 1024);
    const doc = parse(asHost) as {
      write_files: { path: string; content: string; encoding?: string }[];
    };
    const env = doc.write_files.find((f) => f.path === '/etc/ep/host.env')!;
    const envText = env.encoding
      ? gunzipSync(Buffer.from(env.content, 'base64')).toString()
      : env.content;
    expect(envText).toContain(
      "EP_HOST_CONFIG_S3_URI='s3://ep-artifacts-bucket/hosts/host-config.json'",
    );
    expect(envText).toContain(
      "EP_CALIBRATION_S3_URI='s3://ep-artifacts-bucket/hosts/calibration/calibration.json'",
    );
    expect(envText).toMatch(
      /EP_BUNDLE_S3_URI='s3:\/\/ep-artifacts-bucket\/hosts\/controller\/[0-9A-F]+\/controller\.mjs'/,
    );
    expect(envText).toMatch(/EP_BUNDLE_SHA256='[0-9a-f]{64}'/);
  });

  // .ci/run installs cloud-init; locally the check is skipped (with a message) when the tool is missing.
  it.runIf(runWithTool('cloud-init'))(
    'the user data as the host receives it passes cloud-init schema',
    () => {
      requireTool('cloud-init');
      const text = userDataOf(s)
        .replace(/\$\{aws_s3_bucket[^}]+\}/g, 'ep-artifacts-bucket')
        .replace(/\$\$\{/g, '${')
        .replace(/%%\{/g, '%{');
      const file = join(tempDir('ep-ud-'), 'user-data.yaml');
      writeFileSync(file, text);
      const r = spawnSync('cloud-init', ['schema', '--config-file', file], { encoding: 'utf8' });
      expect(r.status, r.stdout + r.stderr).toBe(0);
    },
  );

  it('prints the endpoint, the key store and the commands to create the first key and set the HF token', () => {
    expect(s.output.api_key_secret_id!.value).toBe('ensembled-perplexity/api-keys');
    expect(s.output.create_first_key_command!.value).toBe(
      'npm run keys -- create --store aws:ensembled-perplexity/api-keys --region us-east-1 --name first',
    );
    expect(s.output.hf_token_secret_id!.value).toBe('ensembled-perplexity/hf-token');
    expect(s.output.set_hf_token_command!.value).toBe(
      'aws secretsmanager put-secret-value --region us-east-1 --secret-id ensembled-perplexity/hf-token --secret-string "$HF_TOKEN"',
    );
  });

  it('raises alarms on unhealthy hosts and the 5xx rate, and has a dashboard', () => {
    const alarms = all(s.resource, 'aws_cloudwatch_metric_alarm');
    expect(alarms.map((a) => a.metric_name ?? 'math')).toEqual(
      expect.arrayContaining(['UnHealthyHostCount', 'HealthyHostCount', 'math']),
    );
    expect(JSON.stringify(alarms)).toContain('HTTPCode_Target_5XX_Count');
    expect(
      JSON.parse(String(only(s.resource, 'aws_cloudwatch_dashboard').dashboard_body)).widgets
        .length,
    ).toBeGreaterThan(3);
  });

  it('keeps state local and pins the AWS provider with default tags', () => {
    expect(s.terraform.backend).toEqual({
      local: { path: '../../../terraform.ensembled-perplexity.tfstate' },
    });
    expect(s.terraform.required_providers).toEqual({ aws: { source: 'aws', version: '6.25.0' } });
    expect(s.provider.aws![0]).toMatchObject({
      region: 'us-east-1',
      default_tags: [{ tags: expect.objectContaining({ Deployment: 'ensembled-perplexity' }) }],
    });
  });
});
