/**
 * @module
 * The `rehearsal_override.tf.json` written next to a copy of the synthesized stack: it points the provider at the
 * emulator and adds the few emulator workarounds, each named after the emulator limitation it works around, so the
 * rehearsal prints exactly what differs from a real deploy. Terraform merges override files into the
 * configuration (https://developer.hashicorp.com/terraform/language/files/override).
 */
import { dataOf, resourcesOf, type StackJson } from './stack-json.ts';

/** AWS provider endpoint names the rehearsal points at the emulator (all exist in provider 5.x and 6.x). */
export const EMULATED_SERVICES = [
  'acm',
  'autoscaling',
  'cloudfront',
  'cloudwatch',
  'ec2',
  'elbv2',
  'iam',
  'kms',
  'logs',
  'route53',
  's3',
  'secretsmanager',
  'sns',
  'ssm',
  'sts',
] as const;

/** One change the override makes, for the rehearsal's log. */
export interface Workaround {
  readonly name: string;
  readonly why: string;
}

/** A deliberate fault a test injects through the override (the stack itself stays as synthesized). */
export type OverrideFault = 'leftover-secret';

export interface OverrideOptions {
  /** The emulator's endpoint (`https://127.0.0.1:PORT`). */
  readonly endpoint: string;
  /** PEM file the provider trusts for the endpoint. */
  readonly caBundle: string;
  /** Provider version in the local mirror. */
  readonly providerVersion: string;
  /** Prefix under which reserved SSM parameters are copied (see `reservedParameters`). */
  readonly parameterPrefix: string;
  readonly fault?: OverrideFault;
}

export interface Override {
  readonly json: Record<string, unknown>;
  readonly workarounds: Workaround[];
  /** SSM parameters the rehearsal must create before `plan`: the copies of reserved ones. */
  readonly parameters: Array<{ name: string; original: string }>;
}

/** SSM parameter data sources whose names AWS reserves (`/aws/...`): moto refuses to create those. */
export function reservedParameters(stack: StackJson): Array<{ address: string; name: string }> {
  return dataOf(stack, 'aws_ssm_parameter')
    .map(([address, body]) => ({ address, name: String(body.name ?? '') }))
    .filter((p) => /^\/?aws\//i.test(p.name));
}

type Statement = Record<string, unknown> & { condition?: Array<Record<string, unknown>> };

/** Builds the override for a synthesized stack. */
export function buildOverride(stack: StackJson, o: OverrideOptions): Override {
  const workarounds: Workaround[] = [];
  const json: Record<string, Record<string, unknown>> = {};

  const pinned = (stack.terraform?.required_providers?.aws as { version?: string } | undefined)
    ?.version;
  json.terraform = {
    required_providers: { aws: { source: 'hashicorp/aws', version: o.providerVersion } },
    backend: { local: { path: 'terraform.tfstate' } },
  };
  if (pinned !== o.providerVersion) {
    workarounds.push({
      name: 'provider-version',
      why: `the stack pins hashicorp/aws ${pinned}; the local mirror has ${o.providerVersion}, so this override relaxes the constraint to it`,
    });
  }

  const endpoints = Object.fromEntries(EMULATED_SERVICES.map((s) => [s, o.endpoint]));
  const emulated = {
    access_key: 'rehearsal',
    secret_key: 'rehearsal',
    skip_credentials_validation: true,
    skip_metadata_api_check: true,
    skip_region_validation: true,
    s3_use_path_style: true,
    custom_ca_bundle: o.caBundle,
    endpoints: [endpoints],
  };
  json.provider = {
    aws: (stack.provider?.aws ?? [{}]).map((p) => ({
      ...(p.alias ? { alias: p.alias } : {}),
      ...emulated,
    })),
  };

  const data: Record<string, Record<string, unknown>> = {};
  const parameters: Array<{ name: string; original: string }> = [];
  for (const p of reservedParameters(stack)) {
    const copy = `${o.parameterPrefix}${p.name.startsWith('/') ? '' : '/'}${p.name}`;
    (data.aws_ssm_parameter ??= {})[p.address] = { name: copy };
    parameters.push({ name: copy, original: p.name });
    workarounds.push({
      name: 'reserved-ssm-parameter',
      why: `moto has no ${p.name} and refuses to create names under /aws/; the stack reads a copy at ${copy} holding an AMI moto knows`,
    });
  }

  for (const [address, body] of dataOf(stack, 'aws_iam_policy_document')) {
    const statements = (body.statement ?? []) as Statement[];
    const secure = statements.some((s) =>
      (s.condition ?? []).some((c) => c.variable === 'aws:SecureTransport'),
    );
    if (!secure) continue;
    (data.aws_iam_policy_document ??= {})[address] = {
      statement: statements.map((s) => {
        if (!(s.condition ?? []).some((c) => c.variable === 'aws:SecureTransport')) return s;
        const { actions, ...rest } = s;
        return { ...rest, not_actions: actions };
      }),
    };
    workarounds.push({
      name: 'tls-only-bucket-policy',
      why: `moto applies a Deny with an aws:SecureTransport condition to every S3 call regardless of the condition; in ${address} that statement names its actions as not_actions, which moto does not match`,
    });
  }
  if (Object.keys(data).length) json.data = data;

  const resource: Record<string, Record<string, unknown>> = {};
  for (const [address, body] of resourcesOf(stack, 'aws_cloudfront_distribution')) {
    if (body.wait_for_deployment === false) continue;
    (resource.aws_cloudfront_distribution ??= {})[address] = { wait_for_deployment: false };
    workarounds.push({
      name: 'cloudfront-deployment-wait',
      why: `moto reports ${address} Deployed at once, but the provider sleeps a fixed minute before its first look; the rehearsal does not wait for a deployment that has nothing to do (destroy still waits)`,
    });
  }

  if (o.fault === 'leftover-secret') {
    const [secret] = resourcesOf(stack, 'aws_secretsmanager_secret');
    if (!secret) throw new Error('fault leftover-secret: the stack has no secret');
    resource.aws_secretsmanager_secret = { [secret[0]]: { recovery_window_in_days: 7 } };
    workarounds.push({
      name: 'FAULT leftover-secret',
      why: `a deliberate fault: ${secret[0]} keeps a 7-day recovery window, so destroy leaves it scheduled for deletion`,
    });
  }
  if (Object.keys(resource).length) json.resource = resource;
  return { json, workarounds, parameters };
}
