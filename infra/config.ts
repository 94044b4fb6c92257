/**
 * @module
 * Deployment settings: one zod schema for the `context` block of cdktf.json. Every default lives here; the
 * defaults reproduce the reference workload (four 7B-class models, one g6.12xlarge host, one model per GPU).
 * `parseSettings` fails with one message naming every bad field, so `cdktf synth` stops before any resource exists.
 */
import { z } from 'zod';
import { DEFAULT_NODE_IMAGE } from './host/controller-container.ts';
import { bootTimeline } from './boot-timeline.ts';
import { defaultMinModels } from './host/host-config.ts';
import { REFERENCE_MODELS } from './host/reference-models.ts';
import { DEFAULT_VLLM_IMAGE } from './host/vllm.ts';

/** Public SSM parameter of the Deep Learning AMI (Base OSS NVIDIA driver, Ubuntu 24.04, x86_64). */
export const DLAMI_SSM_PARAMETER =
  '/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-24.04/latest/ami-id';

/** One GPU instance type we know how to size, validate and price. */
export interface GpuInstanceType {
  readonly gpus: number;
  readonly gpuModel: string;
  /** Nominal memory per GPU. */
  readonly gpuMemoryGiB: number;
  readonly vcpus: number;
  /** Linux on-demand list price in us-east-1 (see {@link PRICE_SOURCE}). */
  readonly usdPerHour: number;
  /** Service Quotas code of the vCPU quota this type counts against. */
  readonly quotaCode: string;
}

/** Where {@link GPU_INSTANCE_TYPES} prices come from; printed next to every cost figure. */
export const PRICE_SOURCE =
  'AWS list price, Linux on-demand, us-east-1, as of 2026-01-19 (aws/karpenter-provider-aws ' +
  'pkg/providers/pricing/zz_generated.pricing_aws.go); other regions and later dates differ';

/** "Running On-Demand G and VT instances", counted in vCPUs. */
export const G_AND_VT_QUOTA_CODE = 'L-DB2E81BA';

const g = (
  gpus: number,
  gpuModel: string,
  gpuMemoryGiB: number,
  vcpus: number,
  usdPerHour: number,
) => ({ gpus, gpuModel, gpuMemoryGiB, vcpus, usdPerHour, quotaCode: G_AND_VT_QUOTA_CODE }) as const;

/** GPU instance types the stack accepts. Specs: AWS instance type pages; prices: {@link PRICE_SOURCE}. */
export const GPU_INSTANCE_TYPES = {
  'g6.xlarge': g(1, 'NVIDIA L4', 24, 4, 0.8048),
  'g6.2xlarge': g(1, 'NVIDIA L4', 24, 8, 0.9776),
  'g6.4xlarge': g(1, 'NVIDIA L4', 24, 16, 1.3232),
  'g6.8xlarge': g(1, 'NVIDIA L4', 24, 32, 2.0144),
  'g6.12xlarge': g(4, 'NVIDIA L4', 24, 48, 4.6016),
  'g6.16xlarge': g(1, 'NVIDIA L4', 24, 64, 3.3968),
  'g6.24xlarge': g(4, 'NVIDIA L4', 24, 96, 6.6752),
  'g6.48xlarge': g(8, 'NVIDIA L4', 24, 192, 13.3504),
  'g6e.xlarge': g(1, 'NVIDIA L40S', 48, 4, 1.861),
  'g6e.12xlarge': g(4, 'NVIDIA L40S', 48, 48, 10.49264),
  'g6e.24xlarge': g(4, 'NVIDIA L40S', 48, 96, 15.06559),
  'g6e.48xlarge': g(8, 'NVIDIA L40S', 48, 192, 30.13118),
  'g5.xlarge': g(1, 'NVIDIA A10G', 24, 4, 1.006),
  'g5.12xlarge': g(4, 'NVIDIA A10G', 24, 48, 5.672),
  'g5.24xlarge': g(4, 'NVIDIA A10G', 24, 96, 8.144),
  'g5.48xlarge': g(8, 'NVIDIA A10G', 24, 192, 16.288),
} as const satisfies Record<string, GpuInstanceType>;

export { defaultMinModels };

export type GpuInstanceTypeName = keyof typeof GPU_INSTANCE_TYPES;
const INSTANCE_TYPE_NAMES = Object.keys(GPU_INSTANCE_TYPES) as [
  GpuInstanceTypeName,
  ...GpuInstanceTypeName[],
];

/** Hours in the month used for monthly cost figures (365 × 24 / 12). */
export const HOURS_PER_MONTH = 730;

/** CloudWatch Logs accepts only these retention values. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 3653,
];

export const ModelSettingsSchema = z
  .object({
    /** Hugging Face model id. */
    hfId: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'use a Hugging Face id like org/name'),
    /** Name clients use; also vLLM's `--served-model-name`. */
    servedName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'use letters, digits, . _ -'),
    /** GPUs the model spans (tensor parallel size). */
    gpus: z.int().min(1).default(1),
    /** `--max-model-len`. */
    maxModelLen: z.int().min(128).default(4096),
    /** Hugging Face revision (a commit sha makes hosts reproducible). Default: the repository's main branch. */
    revision: z.string().min(1).optional(),
    /** `--gpu-memory-utilization`. Default: infra/host/vllm.ts. */
    gpuMemoryUtilization: z.number().gt(0).max(1).optional(),
    /** `--max-num-seqs`. Default: infra/host/vllm.ts. */
    maxNumSeqs: z.int().positive().optional(),
    /** `--max-num-batched-tokens`. Default: infra/host/vllm.ts. */
    maxNumBatchedTokens: z.int().positive().optional(),
    /** Extra `vllm serve` arguments, appended verbatim. */
    extraArgs: z.array(z.string()).optional(),
  })
  .strict();
export type ModelSettings = z.infer<typeof ModelSettingsSchema>;

/** The reference workload: four 7B-class models, one L4 each (the list lives in infra/host). */
export const DEFAULT_MODELS: readonly ModelSettings[] = REFERENCE_MODELS.map(
  ({ extraArgs, ...m }): ModelSettings => ({
    ...m,
    ...(extraArgs ? { extraArgs: [...extraArgs] } : {}),
  }),
);

const cidr = z.union([z.cidrv4(), z.cidrv6()]);

/** One scheduled change of the fleet size (an `aws_autoscaling_schedule`). */
export const ScheduleSettingsSchema = z
  .object({
    /** Name of the scheduled action. */
    name: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'letters, digits and hyphens'),
    /** Cron expression in `timeZone`, e.g. `0 20 * * 1-5`. */
    recurrence: z.string().regex(/^(\S+\s+){4}\S+$/, 'use a 5-field cron expression'),
    minHosts: z.int().min(0).max(50),
    maxHosts: z.int().min(0).max(50),
    /** Hosts to run from then on. Default: unchanged within the new bounds. */
    desiredHosts: z.int().min(0).max(50).optional(),
    /** IANA time zone of `recurrence`. */
    timeZone: z.string().min(1).default('UTC'),
  })
  .strict();
export type ScheduleSettings = z.infer<typeof ScheduleSettingsSchema>;

export const DomainSettingsSchema = z
  .object({
    /** Fully qualified name clients use, e.g. `perplexity.example.com`. */
    name: z.string().regex(/^([a-z0-9-]+\.)+[a-z]{2,}$/i, 'use a fully qualified domain name'),
    /** Route 53 hosted zone id that holds `name`. */
    hostedZoneId: z.string().min(1).optional(),
    /** Route 53 hosted zone name (looked up when no id is given). */
    hostedZoneName: z.string().min(1).optional(),
  })
  .strict()
  .refine((d) => d.hostedZoneId !== undefined || d.hostedZoneName !== undefined, {
    message: 'give hostedZoneId or hostedZoneName for the domain',
  });

export const BackendSettingsSchema = z
  .object({
    /** Existing S3 bucket holding Terraform state (create it before the first deploy). */
    bucket: z.string().min(3),
    /** State object key. Default: `<name>/terraform.tfstate`. */
    key: z.string().min(1).optional(),
    /** Region of the state bucket. Default: the deployment region. */
    region: z.string().optional(),
    /** DynamoDB table for state locks (legacy); when unset, S3-native locking (`use_lockfile`) is used. */
    dynamodbTable: z.string().min(1).optional(),
    /** S3-native state locking (Terraform ≥ 1.10). Default: true when no `dynamodbTable` is given. */
    useLockfile: z.boolean().optional(),
  })
  .strict();

export const SettingsSchema = z
  .object({
    /** Deployment name: prefixes resources, secret names and log groups; also the CDKTF stack name. */
    name: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]{0,22}[a-z0-9]$/,
        '2-24 characters: lower-case letters, digits and hyphens, starting with a letter',
      )
      .default('ensembled-perplexity'),
    region: z
      .string()
      .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'use an AWS region such as us-east-1')
      .default('us-east-1'),
    instanceType: z.enum(INSTANCE_TYPE_NAMES).default('g6.12xlarge'),
    /**
     * GPU hosts, each a complete replica of every model: a fixed fleet. Shorthand for `minHosts` = `maxHosts`;
     * do not combine it with them.
     */
    hostCount: z.int().min(1).max(50).optional(),
    /** Fewest hosts the Auto Scaling group keeps (0 is allowed: the service is then down until it scales out). */
    minHosts: z.int().min(0).max(50).optional(),
    /** Most hosts target tracking may add. Default: `minHosts` (no autoscaling). */
    maxHosts: z.int().min(1).max(50).optional(),
    /**
     * Target tracking goal: vLLM requests running or waiting per host (the sum over the host's models, published
     * by each host's watchdog every minute). Above it the group adds hosts, well below it removes idle ones.
     */
    targetRequestsPerHost: z.int().min(1).max(10_000).default(64),
    /** Scheduled changes of the group's size, e.g. 0 hosts at night (cron in `timeZone`). */
    schedule: z.array(ScheduleSettingsSchema).max(20).default([]),
    /**
     * Models that must be ready for a host to take traffic (the load balancer's readiness quorum), and the default
     * `min_models` of a request; answers from fewer than all models are flagged degraded. Default: a majority.
     */
    minModels: z.int().min(1).optional(),
    /**
     * Minutes a booted host may fail continuously (controller down, or fewer than `minModels` models although
     * they downloaded) before its watchdog marks it unhealthy and the Auto Scaling group replaces it.
     */
    watchdogMinutes: z.int().min(3).max(240).default(15),
    models: z
      .array(ModelSettingsSchema)
      .min(1)
      .default(() => DEFAULT_MODELS.map((m) => ({ ...m })))
      .refine(
        (ms) => new Set(ms.map((m) => m.servedName)).size === ms.length,
        'servedName must be unique',
      ),
    /** Pinned vLLM OpenAI-compatible server image. */
    vllmImage: z.string().min(1).default(DEFAULT_VLLM_IMAGE),
    /** Official Node image the controller bundle runs in. */
    nodeImage: z.string().min(1).default(DEFAULT_NODE_IMAGE),
    /**
     * Pull images from Docker Hub as a user: the hosts log in with a token stored in the `<name>/dockerhub`
     * secret (`user:token`). Anonymous pulls are limited per address, and every host shares the NAT's address.
     */
    dockerHubAuth: z.boolean().default(false),
    /**
     * Host image: an AMI id (`ami-…`, reproducible) or a public SSM parameter path (resolved on every deploy;
     * the launch template then ignores later changes, so a redeploy does not silently change the driver).
     */
    ami: z
      .string()
      .regex(
        /^(ami-[0-9a-f]{8,17}|\/[\w./-]+)$/,
        'use an AMI id (ami-…) or an SSM parameter path (/aws/…)',
      )
      .default(DLAMI_SSM_PARAMETER),
    /** Port the controller listens on inside the VPC (the ALB target port). */
    controllerPort: z.int().min(1024).max(65535).default(8080),
    /** Custom domain; without it the endpoint is CloudFront's `https://dXXXX.cloudfront.net`. */
    domain: DomainSettingsSchema.optional(),
    /**
     * Client networks allowed to reach the API (enforced by the ALB security group with a domain, by a
     * CloudFront Function without one).
     */
    allowedCidrs: z.array(cidr).min(1).max(25).default(['0.0.0.0/0', '::/0']),
    /** Remote state; without it state is local (`terraform.<name>.tfstate`). */
    backend: BackendSettingsSchema.optional(),
    /** A /16 to /19: the load balancer's subnets are 8 bits smaller and must be at least /27. */
    vpcCidr: z
      .cidrv4()
      .refine((c) => {
        const bits = Number(c.split('/')[1]);
        return bits >= 16 && bits <= 19;
      }, 'use a /16 to /19 range (subnets are carved 8 bits smaller; load balancer subnets must be /27 or larger)')
      .default('10.0.0.0/16'),
    /** Availability zones used (hosts only go to zones offering `instanceType`). */
    azCount: z.int().min(2).max(3).default(2),
    rootVolumeGiB: z.int().min(60).max(2000).default(200),
    /** gp3 throughput of the root volume (Docker's image store): 125 is gp3's free baseline. */
    rootVolumeThroughputMiBps: z.int().min(125).max(1000).default(500),
    /**
     * Seconds a new host may take to boot (image pull, model download, load): the Auto Scaling grace period and
     * the scaling warm-up. Default: sized from the boot steps (infra/boot-timeline.ts).
     */
    healthCheckGraceSeconds: z.int().min(300).max(7200).optional(),
    /**
     * IMDSv2 hop limit: 1 lets only host processes (the controller runs on the host network) use the instance
     * role; 2 also lets bridge-network containers (vLLM) reach it.
     */
    metadataHopLimit: z.int().min(1).max(2).default(1),
    /** Replace hosts automatically (launch before terminate) when the launch template changes. */
    instanceRefresh: z.boolean().default(false),
    logRetentionDays: z
      .int()
      .refine((d) => LOG_RETENTION_DAYS.includes(d), `use one of ${LOG_RETENTION_DAYS.join(', ')}`)
      .default(30),
    /** SNS topic that alarms notify. Default: alarms have no action. */
    alarmTopicArn: z.string().startsWith('arn:').optional(),
    /** CloudFront origin response timeout (above 60 s needs a quota increase). */
    originReadTimeoutSeconds: z.int().min(1).max(180).default(60),
    /** ALB idle timeout: large batches are answered in one response. */
    albIdleTimeoutSeconds: z.int().min(1).max(4000).default(600),
    /** Prebuilt controller bundle; when unset, synth builds one with scripts/build-bundle.ts. */
    controllerBundle: z.string().min(1).optional(),
  })
  .strict();

/** Validated settings with the fleet size and quorum resolved (see {@link parseSettings}). */
export type Settings = Omit<
  z.infer<typeof SettingsSchema>,
  'hostCount' | 'minHosts' | 'maxHosts' | 'minModels' | 'healthCheckGraceSeconds'
> & {
  readonly minHosts: number;
  readonly maxHosts: number;
  readonly minModels: number;
  readonly healthCheckGraceSeconds: number;
};
export type SettingsInput = z.input<typeof SettingsSchema>;
export type DomainSettings = z.infer<typeof DomainSettingsSchema>;
export type BackendSettings = z.infer<typeof BackendSettingsSchema>;

/** Thrown when the deployment settings are invalid; the message names every bad field. */
export class SettingsError extends Error {
  override name = 'SettingsError';
}

const OPEN_CIDRS = new Set(['0.0.0.0/0', '::/0']);

/** True when `allowedCidrs` lets every client in. */
export function isOpenToAll(settings: Pick<Settings, 'allowedCidrs'>): boolean {
  return settings.allowedCidrs.some((c) => OPEN_CIDRS.has(c));
}

/** Rules zod cannot express field by field; each returns a message or nothing. */
function crossFieldProblems(s: z.infer<typeof SettingsSchema>): string[] {
  const problems: string[] = [];
  if (s.hostCount !== undefined && (s.minHosts !== undefined || s.maxHosts !== undefined)) {
    problems.push('hostCount: give hostCount (a fixed fleet) or minHosts/maxHosts, not both');
  }
  const minHosts = s.minHosts ?? s.hostCount ?? 1;
  const maxHosts = s.maxHosts ?? s.hostCount ?? Math.max(1, minHosts);
  if (maxHosts < minHosts) problems.push(`maxHosts: ${maxHosts} is below minHosts ${minHosts}`);
  for (const [i, e] of s.schedule.entries()) {
    if (e.maxHosts < e.minHosts) problems.push(`schedule.${i}.maxHosts: below its minHosts`);
    if (
      e.desiredHosts !== undefined &&
      (e.desiredHosts < e.minHosts || e.desiredHosts > e.maxHosts)
    )
      problems.push(`schedule.${i}.desiredHosts: outside its minHosts..maxHosts`);
  }
  if (s.minModels !== undefined && s.minModels > s.models.length) {
    problems.push(`minModels: ${s.minModels} exceeds the ${s.models.length} models`);
  }
  const type = GPU_INSTANCE_TYPES[s.instanceType];
  const needed = s.models.reduce((sum, m) => sum + m.gpus, 0);
  if (needed > type.gpus) {
    const layout = s.models.map((m) => `${m.servedName}: ${m.gpus}`).join(', ');
    problems.push(
      `models: models need ${needed} GPUs (${layout}) but ${s.instanceType} has ${type.gpus}`,
    );
  }
  return problems;
}

/** Validates settings (the cdktf.json `context` minus cdktf's own keys), naming every bad field in one error. */
export function parseSettings(input: unknown): Settings {
  const result = SettingsSchema.safeParse(input ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new SettingsError(
      `invalid deployment settings (cdktf.json "context"):\n${lines.join('\n')}`,
    );
  }
  const problems = crossFieldProblems(result.data);
  if (problems.length > 0) {
    throw new SettingsError(
      `invalid deployment settings (cdktf.json "context"):\n${problems.map((p) => `  ${p}`).join('\n')}`,
    );
  }
  const { hostCount, minHosts, maxHosts, minModels, healthCheckGraceSeconds, ...rest } =
    result.data;
  const min = minHosts ?? hostCount ?? 1;
  const resolved = {
    ...rest,
    minHosts: min,
    maxHosts: maxHosts ?? hostCount ?? Math.max(1, min),
    minModels: minModels ?? defaultMinModels(rest.models.length),
  };
  return {
    ...resolved,
    healthCheckGraceSeconds: healthCheckGraceSeconds ?? bootTimeline(resolved).graceSeconds,
  };
}

/** Hourly and monthly list price of `hosts` hosts (see {@link PRICE_SOURCE}). */
export function fleetCost(
  settings: Pick<Settings, 'instanceType'>,
  hosts: number,
): {
  usdPerHour: number;
  usdPerMonth: number;
} {
  const usdPerHour = GPU_INSTANCE_TYPES[settings.instanceType].usdPerHour * hosts;
  return { usdPerHour, usdPerMonth: usdPerHour * HOURS_PER_MONTH };
}
