/**
 * @module
 * Checks the applied deployment through the emulator's own APIs (never Terraform's view of it): the outputs name
 * things that exist, every resource type the stack declares exists in the emulator as often as declared, the
 * launch template's stored user data is the stack's cloud-config, and the uploaded bundle and host config are the
 * synthesized ones, byte for byte (SHA-256).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { awsCli } from './aws-env.ts';
import type { Inventory } from './inventory.ts';
import {
  declaredCounts,
  resourcesOf,
  type StackJson,
  untemplate,
  userDataTemplate,
} from './stack-json.ts';

/** Terraform resource type → inventory kind, for the types the inventory lists. */
const KIND_OF: Record<string, string> = {
  aws_vpc: 'vpcs',
  aws_subnet: 'subnets',
  aws_nat_gateway: 'nat_gateways',
  aws_eip: 'eips',
  aws_internet_gateway: 'internet_gateways',
  aws_vpc_endpoint: 'vpc_endpoints',
  aws_security_group: 'security_groups',
  aws_launch_template: 'launch_templates',
  aws_lb: 'load_balancers',
  aws_lb_target_group: 'target_groups',
  aws_lb_listener: 'listeners',
  aws_autoscaling_group: 'autoscaling_groups',
  aws_secretsmanager_secret: 'secrets',
  aws_s3_bucket: 'buckets',
  aws_cloudwatch_log_group: 'log_groups',
  aws_cloudfront_distribution: 'distributions',
  aws_cloudfront_vpc_origin: 'vpc_origins',
  aws_iam_role: 'iam_roles',
  aws_iam_instance_profile: 'instance_profiles',
  aws_cloudwatch_metric_alarm: 'alarms',
  aws_cloudwatch_dashboard: 'dashboards',
  aws_acm_certificate: 'certificates',
};

export type Outputs = Record<string, string>;

export interface AppliedState {
  /** The launch template's user data, decoded. */
  readonly userData: string;
  readonly instanceId: string;
  readonly checks: string[];
}

function fail(message: string): never {
  throw new Error(message);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Checks the state; returns the user data and the host's instance id for the boot phase. */
export async function assertApplied(o: {
  stack: StackJson;
  outputs: Outputs;
  fresh: Inventory;
  env: NodeJS.ProcessEnv;
  bundleSha256: string;
  hostCount: number;
}): Promise<AppliedState> {
  const checks: string[] = [];
  const { outputs, fresh, env } = o;
  const names = (kind: string) =>
    (fresh[kind] ?? []).map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));

  // Every declared resource type the inventory can see, as many as declared.
  for (const [type, { count, exact }] of declaredCounts(o.stack)) {
    const kind = KIND_OF[type];
    if (!kind) continue;
    const have = (fresh[kind] ?? []).length;
    if (exact ? have < count : have < 1)
      fail(`${type}: the stack declares ${count}, the emulator has ${have} new ${kind}`);
  }
  checks.push(
    `${[...declaredCounts(o.stack).keys()].filter((t) => KIND_OF[t]).length} resource types present`,
  );

  // Outputs name what exists.
  const secrets = (fresh.secrets ?? []) as Array<{ name: string }>;
  for (const key of ['api_key_secret_id', 'hf_token_secret_id']) {
    if (!secrets.some((s) => s.name === outputs[key]))
      fail(`output ${key} = ${outputs[key]} is not a secret in the emulator`);
  }
  if (!names('buckets').includes(outputs.artifacts_bucket ?? ''))
    fail(`output artifacts_bucket = ${outputs.artifacts_bucket} does not exist`);
  const groups = (fresh.autoscaling_groups ?? []) as Array<{
    name: string;
    instances: string[];
    desired: number;
  }>;
  const group = groups.find((g) => g.name === outputs.autoscaling_group);
  if (!group) fail(`output autoscaling_group = ${outputs.autoscaling_group} does not exist`);
  if (group.instances.length !== o.hostCount)
    fail(`${group.name} has ${group.instances.length} instances, expected ${o.hostCount}`);
  const endpointHost = new URL(outputs.endpoint ?? 'https://missing').hostname;
  const dists = (fresh.distributions ?? []) as Array<{ domain: string; aliases: string[] }>;
  if (!dists.some((d) => d.domain === endpointHost || d.aliases.includes(endpointHost))) {
    fail(
      `output endpoint ${outputs.endpoint} is neither a distribution's domain nor one of its aliases`,
    );
  }
  checks.push('outputs resolve');

  // The launch template's stored user data is the stack's cloud-config with the bucket filled in.
  const lts = (fresh.launch_templates ?? []) as Array<{ id: string }>;
  const versions = (await awsCli(env, [
    'ec2',
    'describe-launch-template-versions',
    '--launch-template-id',
    lts[0]!.id,
    '--versions',
    '$Latest',
  ])) as {
    LaunchTemplateVersions: Array<{ LaunchTemplateData: { UserData?: string } }>;
  };
  // cloud-init reads gzip-compressed user data as it is; so does the rehearsal.
  const raw = Buffer.from(
    versions.LaunchTemplateVersions[0]?.LaunchTemplateData.UserData ?? '',
    'base64',
  );
  const stored = (raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw).toString('utf8');
  const [bucketAddress] = resourcesOf(o.stack, 'aws_s3_bucket');
  const expected = untemplate(userDataTemplate(o.stack), (expr) =>
    bucketAddress && expr === `aws_s3_bucket.${bucketAddress[0]}.bucket`
      ? outputs.artifacts_bucket
      : undefined,
  );
  if (stored !== expected)
    fail(
      `the launch template's user data (${stored.length} bytes) differs from the stack's cloud-config (${expected.length} bytes)`,
    );
  checks.push(`user data ${Buffer.byteLength(stored)} bytes, same cloud-config`);

  // The uploaded objects are the synthesized ones.
  const tmp = mkdtempSync(join(tmpdir(), 'ep-objects-'));
  try {
    for (const [address, body] of resourcesOf(o.stack, 'aws_s3_object')) {
      const key = String(body.key);
      const file = join(tmp, address);
      await awsCli(env, [
        's3api',
        'get-object',
        '--bucket',
        outputs.artifacts_bucket!,
        '--key',
        key,
        file,
      ]);
      const got = sha256(readFileSync(file));
      const want =
        typeof body.content === 'string'
          ? sha256(Buffer.from(body.content))
          : body.source
            ? o.bundleSha256
            : fail(`${address} has neither content nor source`);
      if (got !== want)
        fail(
          `s3://${outputs.artifacts_bucket}/${key} has SHA-256 ${got}, the stack uploads ${want}`,
        );
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const hostEnvSha = /EP_BUNDLE_SHA256='([0-9a-f]+)'/.exec(stored)?.[1];
  checks.push(
    `objects match (bundle ${o.bundleSha256.slice(0, 12)}…, user data names ${hostEnvSha?.slice(0, 12) ?? 'none'}…)`,
  );

  const instances = (fresh.instances ?? []) as Array<{ id: string; state: string }>;
  const instanceId = group.instances[0] ?? instances[0]?.id ?? fail('no instance was launched');
  return { userData: stored, instanceId, checks };
}
