/**
 * @module
 * `npm run preflight`: checks the machine, the Hugging Face token and the AWS account before `cdktf deploy` with
 * the same settings (cdktf.json context): Terraform is installed (the cdktf CLI drives it), AWS credentials
 * resolve, the token may download every model (`HF_TOKEN` or `--hf-token`; gated models need an accepted
 * license), the "Running On-Demand G and VT instances" vCPU quota covers the fleet, the instance type is offered
 * in the region's zones, and what the fleet costs. Without this, a short quota shows up only as an Auto Scaling
 * group that quietly fails to launch, and a refused model only as a host that never serves it.
 *
 * Exit codes: 0 all checks pass, 1 a check fails (fix the machine, the account, the token or the settings),
 * 2 a check that matters could not run (no credentials, permissions, network).
 */
import { spawn } from 'node:child_process';
import { request } from 'undici';
import { isMainModule } from './lib/main-module.ts';
import {
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstancesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  GetAWSDefaultServiceQuotaCommand,
  GetServiceQuotaCommand,
  ServiceQuotasClient,
} from '@aws-sdk/client-service-quotas';
import {
  fleetCost,
  GPU_INSTANCE_TYPES,
  HOURS_PER_MONTH,
  PRICE_SOURCE,
  SettingsError,
  type Settings,
} from '../infra/config.ts';
import { loadSettings } from '../infra/context.ts';

/** Anything with the SDK v3 `send` of the client (the real client, or a mock in tests). */
interface Sender<C> {
  send: C extends { send: infer S } ? S : never;
}

export interface PreflightDeps {
  readonly ec2: Sender<EC2Client>;
  readonly quotas: Sender<ServiceQuotasClient>;
  /** Receives each report line. */
  readonly out: (line: string) => void;
  /**
   * The installed Terraform version (`x.y.z`), or null when there is none.
   * @default - runs `$TERRAFORM_BINARY_NAME version -json` (terraform)
   */
  readonly terraformVersion?: () => Promise<string | null>;
  /**
   * Resolves the AWS credentials; throws when there are none.
   * @default - the EC2 client's credential provider chain
   */
  readonly credentials?: () => Promise<unknown>;
  /**
   * Hugging Face token to check model access with.
   * @default - none: models are checked anonymously (gated ones then fail)
   */
  readonly hfToken?: string;
  /**
   * Base URL of the Hugging Face Hub.
   * @default 'https://huggingface.co'
   */
  readonly hubUrl?: string;
}

/** Terraform version the stack needs: 1.10 for S3-native state locking, 1.0 otherwise. */
function minimumTerraform(settings: Settings): [number, number] {
  const lockfile =
    settings.backend &&
    (settings.backend.useLockfile ?? settings.backend.dynamodbTable === undefined);
  return lockfile ? [1, 10] : [1, 0];
}

/** `terraform version -json` of the binary cdktf will run, or null when it cannot be run. */
export function installedTerraform(env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const binary = env.TERRAFORM_BINARY_NAME || 'terraform';
  return new Promise((resolveVersion) => {
    let out = '';
    const child = spawn(binary, ['version', '-json'], { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', () => resolveVersion(null));
    child.on('close', (code) => {
      if (code !== 0) return resolveVersion(null);
      try {
        resolveVersion(
          (JSON.parse(out) as { terraform_version?: string }).terraform_version ?? null,
        );
      } catch {
        resolveVersion(/v?(\d+\.\d+\.\d+)/.exec(out)?.[1] ?? null);
      }
    });
  });
}

/** What the Hub says about reading one model with the token. */
type HubAccess = { ok: true } | { ok: false; status: number };

async function hubAccess(
  hubUrl: string,
  hfId: string,
  revision: string | undefined,
  token: string | undefined,
): Promise<HubAccess> {
  // config.json exists in every model vLLM serves; HEAD asks for access without downloading anything.
  const url = `${hubUrl}/${hfId}/resolve/${encodeURIComponent(revision ?? 'main')}/config.json`;
  const res = await request(url, {
    method: 'HEAD',
    headers: token ? { authorization: `Bearer ${token}` } : {},
    headersTimeout: 15_000,
    bodyTimeout: 15_000,
  });
  await res.body.dump();
  return res.statusCode < 400 ? { ok: true } : { ok: false, status: res.statusCode };
}

export const EXIT = { ok: 0, failed: 1, unchecked: 2 } as const;

/** Thrown inside a check when AWS could not answer; the check is reported as not run. */
class Unchecked extends Error {}

const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'ExpiredToken',
  'ExpiredTokenException',
]);

function explain(err: unknown, permission: string): Unchecked {
  const name = (err as { name?: string } | undefined)?.name ?? 'Error';
  const detail = (err as Error | undefined)?.message ?? String(err);
  if (name === 'CredentialsProviderError') {
    return new Unchecked(
      `no AWS credentials (${detail}); configure a profile or AWS_* environment variables`,
    );
  }
  if (DENIED.has(name)) {
    return new Unchecked(
      `${name}: not allowed to call ${permission} (${detail}); check your AWS credentials and that they allow ${permission}`,
    );
  }
  return new Unchecked(`${name}: ${detail}`);
}

const usd = (n: number) =>
  `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** The vCPU quota for the instance family in the region (the applied value, else AWS's default). */
async function vcpuQuota(quotas: PreflightDeps['quotas'], quotaCode: string): Promise<number> {
  const input = { ServiceCode: 'ec2', QuotaCode: quotaCode };
  try {
    const applied = await quotas.send(new GetServiceQuotaCommand(input));
    if (applied.Quota?.Value !== undefined) return applied.Quota.Value;
  } catch (err) {
    if ((err as { name?: string }).name !== 'NoSuchResourceException') {
      throw explain(err, 'servicequotas:GetServiceQuota');
    }
  }
  try {
    const fallback = await quotas.send(new GetAWSDefaultServiceQuotaCommand(input));
    if (fallback.Quota?.Value !== undefined) return fallback.Quota.Value;
  } catch (err) {
    throw explain(err, 'servicequotas:GetAWSDefaultServiceQuota');
  }
  throw new Unchecked(`quota ${quotaCode} has no value`);
}

/** vCPUs of running or pending G and VT instances in the region (best effort: null when not allowed). */
async function vcpusInUse(ec2: PreflightDeps['ec2']): Promise<number | null> {
  let total = 0;
  let NextToken: string | undefined;
  try {
    do {
      const page = await ec2.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: 'instance-state-name', Values: ['pending', 'running'] },
            { Name: 'instance-type', Values: ['g*', 'vt*'] },
          ],
          NextToken,
        }),
      );
      for (const r of page.Reservations ?? []) {
        for (const i of r.Instances ?? []) {
          total += (i.CpuOptions?.CoreCount ?? 0) * (i.CpuOptions?.ThreadsPerCore ?? 1);
        }
      }
      NextToken = page.NextToken;
    } while (NextToken);
  } catch {
    return null;
  }
  return total;
}

/** Zones of the region offering the instance type. */
async function offeringZones(ec2: PreflightDeps['ec2'], instanceType: string): Promise<string[]> {
  const zones: string[] = [];
  let NextToken: string | undefined;
  try {
    do {
      const page = await ec2.send(
        new DescribeInstanceTypeOfferingsCommand({
          LocationType: 'availability-zone',
          Filters: [{ Name: 'instance-type', Values: [instanceType] }],
          NextToken,
        }),
      );
      for (const o of page.InstanceTypeOfferings ?? []) if (o.Location) zones.push(o.Location);
      NextToken = page.NextToken;
    } while (NextToken);
  } catch (err) {
    throw explain(err, 'ec2:DescribeInstanceTypeOfferings');
  }
  return zones.sort();
}

function printCost(settings: Settings, out: (line: string) => void): void {
  const low = fleetCost(settings, settings.minHosts);
  const high = fleetCost(settings, settings.maxHosts);
  const range = (a: number, b: number) => (a === b ? usd(a) : `${usd(a)}-${usd(b)}`);
  out(
    `$ cost: ${range(low.usdPerHour, high.usdPerHour)}/hour, ${range(low.usdPerMonth, high.usdPerMonth)}/month ` +
      `(${HOURS_PER_MONTH} h) for ${settings.minHosts === settings.maxHosts ? settings.minHosts : `${settings.minHosts}-${settings.maxHosts}`} GPU host(s) ` +
      `while deployed. ${PRICE_SOURCE}.`,
  );
  out(
    '  Not included: NAT gateway (about $0.045/h + $0.045/GB processed in us-east-1), load balancer, ' +
      'EBS root volumes, CloudFront, data transfer. `cdktf destroy` stops all of it.',
  );
}

/** `--hf-token VALUE` from the command line, else `HF_TOKEN`. */
export function hfTokenFrom(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  const i = argv.indexOf('--hf-token');
  const value = i >= 0 ? argv[i + 1] : env.HF_TOKEN;
  return value ? value.trim() : undefined;
}

/**
 * Runs every check and prints a report through `deps.out`.
 * @returns the process exit code ({@link EXIT})
 */
export async function runPreflight(settings: Settings, deps: PreflightDeps): Promise<number> {
  const { out } = deps;
  const type = GPU_INSTANCE_TYPES[settings.instanceType];
  const hosts = settings.maxHosts;
  const needed = hosts * type.vcpus;
  const fleet =
    settings.minHosts === settings.maxHosts
      ? `${hosts}`
      : `${settings.minHosts}-${settings.maxHosts}`;
  let failed = false;
  let unchecked = false;
  out(
    `Preflight for "${settings.name}" in ${settings.region}: ${fleet} × ${settings.instanceType} ` +
      `(${type.gpus} × ${type.gpuModel}, ${type.vcpus} vCPUs each)`,
  );

  // 0a. Terraform: `cdktf deploy` runs it.
  const [major, minor] = minimumTerraform(settings);
  const version = await (deps.terraformVersion ?? (() => installedTerraform()))();
  const binary = process.env.TERRAFORM_BINARY_NAME || 'terraform';
  if (version === null) {
    failed = true;
    out(
      `✘ terraform: \`${binary}\` is not installed or does not run; cdktf deploy needs Terraform >= ${major}.${minor} ` +
        '(https://developer.hashicorp.com/terraform/install, or OpenTofu with TERRAFORM_BINARY_NAME=tofu)',
    );
  } else {
    const [ma = 0, mi = 0] = version.split('.').map(Number);
    if (ma > major || (ma === major && mi >= minor)) {
      out(`✔ terraform: ${binary} ${version}`);
    } else {
      failed = true;
      out(
        `✘ terraform: ${binary} ${version} is older than the ${major}.${minor} these settings need`,
      );
    }
  }

  // 0b. Hugging Face: can the token read every model? (A refused model is served by no host.)
  const hubUrl = deps.hubUrl ?? 'https://huggingface.co';
  for (const m of settings.models) {
    try {
      const access = await hubAccess(hubUrl, m.hfId, m.revision, deps.hfToken);
      if (access.ok) {
        out(`✔ model: ${m.hfId} can be downloaded${deps.hfToken ? ' with the token' : ''}`);
      } else {
        failed = true;
        const how = deps.hfToken
          ? `the token has no access (HTTP ${access.status}): sign in as the token's user, accept the license at ${hubUrl}/${m.hfId} and wait for the grant`
          : `refused without a token (HTTP ${access.status}): it is gated or private; give HF_TOKEN=hf_... (or --hf-token) of an account that accepted the license at ${hubUrl}/${m.hfId}`;
        out(`✘ model: ${m.hfId} ${how}. Hosts would serve the other models without it.`);
      }
    } catch (err) {
      unchecked = true;
      out(`? model: could not reach ${hubUrl} to check ${m.hfId}: ${(err as Error).message}`);
    }
  }

  // 0c. AWS credentials: nothing below can be checked without them.
  try {
    await (deps.credentials ?? (() => Promise.resolve()))();
    out('✔ credentials: AWS credentials found');
  } catch (err) {
    out(
      `✘ credentials: no usable AWS credentials (${(err as Error).message}); configure a profile ` +
        '(AWS_PROFILE) or AWS_* environment variables. The AWS checks did not run.',
    );
    printCost(settings, out);
    return EXIT.unchecked;
  }

  // 1. vCPU quota
  try {
    const quota = await vcpuQuota(deps.quotas, type.quotaCode);
    const inUse = await vcpusInUse(deps.ec2);
    const free = inUse === null ? quota : quota - inUse;
    const usage = inUse === null ? '' : `, ${inUse} in use by running G/VT instances`;
    if (free >= needed) {
      out(
        `✔ quota: Running On-Demand G and VT instances (${type.quotaCode}) is ${quota} vCPUs${usage}; the fleet needs ${needed}`,
      );
      if (settings.instanceRefresh && free < needed + type.vcpus) {
        out(
          `  ! instance refresh launches one extra host first and needs ${needed + type.vcpus} vCPUs`,
        );
      }
    } else {
      failed = true;
      out(
        `✘ quota: Running On-Demand G and VT instances (${type.quotaCode}) is ${quota} vCPUs${usage}, but ` +
          `${hosts} × ${settings.instanceType} needs ${needed}. Request an increase to at least ` +
          `${needed + (inUse ?? 0)} (Service Quotas console, or: aws service-quotas request-service-quota-increase ` +
          `--region ${settings.region} --service-code ec2 --quota-code ${type.quotaCode} --desired-value ` +
          `${needed + (inUse ?? 0)}); without it the Auto Scaling group cannot launch hosts.`,
      );
    }
  } catch (err) {
    if (!(err instanceof Unchecked)) throw err;
    unchecked = true;
    out(`? quota: could not check ${type.quotaCode}: ${err.message}`);
  }

  // 2. instance type offered in the region's zones
  try {
    const zones = await offeringZones(deps.ec2, settings.instanceType);
    if (zones.length > 0) {
      out(`✔ offered: ${settings.instanceType} in ${zones.join(', ')}`);
    } else {
      failed = true;
      out(
        `✘ offered: ${settings.instanceType} is not offered in any zone of ${settings.region}; pick another region or instance type`,
      );
    }
  } catch (err) {
    if (!(err instanceof Unchecked)) throw err;
    unchecked = true;
    out(`? offered: could not check: ${err.message}`);
  }

  // 3. CloudFront: no API tells whether the account may create distributions.
  out(
    'i cloudfront: new accounts may be refused ("Your account must be verified before you can add new CloudFront ' +
      'resources"); no API can check it. If the deploy fails with that, open an AWS Support case to verify the account.',
  );

  // 4. cost
  printCost(settings, out);

  if (failed) return EXIT.failed;
  if (unchecked) return EXIT.unchecked;
  out('All checks passed.');
  return EXIT.ok;
}

if (isMainModule(import.meta.url)) {
  try {
    const settings = loadSettings();
    const ec2 = new EC2Client({ region: settings.region });
    const token = hfTokenFrom(process.argv.slice(2), process.env);
    process.exitCode = await runPreflight(settings, {
      ec2,
      quotas: new ServiceQuotasClient({ region: settings.region }),
      out: (line) => console.log(line),
      credentials: () => ec2.config.credentials(),
      ...(token ? { hfToken: token } : {}),
    });
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    console.error(err.message);
    process.exitCode = EXIT.failed;
  }
}
