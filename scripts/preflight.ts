/**
 * @module
 * `npm run preflight`: checks an AWS account and region before `cdktf deploy` with the same settings
 * (cdktf.json context): the "Running On-Demand G and VT instances" vCPU quota covers the fleet, the instance type
 * is offered in the region's zones, and what the fleet costs. Without this, a short quota shows up only as an
 * Auto Scaling group that quietly fails to launch.
 *
 * Exit codes: 0 all checks pass, 1 a check fails (fix the account or the settings), 2 a check could not run
 * (credentials, permissions, network).
 */
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

/**
 * Runs every check and prints a report through `deps.out`.
 * @returns the process exit code ({@link EXIT})
 */
export async function runPreflight(settings: Settings, deps: PreflightDeps): Promise<number> {
  const { out } = deps;
  const type = GPU_INSTANCE_TYPES[settings.instanceType];
  const needed = settings.hostCount * type.vcpus;
  let failed = false;
  let unchecked = false;
  out(
    `Preflight for "${settings.name}" in ${settings.region}: ${settings.hostCount} × ${settings.instanceType} ` +
      `(${type.gpus} × ${type.gpuModel}, ${type.vcpus} vCPUs each)`,
  );

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
          `${settings.hostCount} × ${settings.instanceType} needs ${needed}. Request an increase to at least ` +
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

  // 3. cost
  const cost = fleetCost(settings);
  out(
    `$ cost: ${usd(cost.usdPerHour)}/hour, ${usd(cost.usdPerMonth)}/month (${HOURS_PER_MONTH} h) for the GPU hosts ` +
      `while deployed. ${PRICE_SOURCE}.`,
  );
  out(
    '  Not included: NAT gateway (about $0.045/h + $0.045/GB processed in us-east-1), load balancer, ' +
      'EBS root volumes, CloudFront, data transfer. `cdktf destroy` stops all of it.',
  );

  if (failed) return EXIT.failed;
  if (unchecked) return EXIT.unchecked;
  out('All checks passed.');
  return EXIT.ok;
}

if (isMainModule(import.meta.url)) {
  try {
    const settings = loadSettings();
    process.exitCode = await runPreflight(settings, {
      ec2: new EC2Client({ region: settings.region }),
      quotas: new ServiceQuotasClient({ region: settings.region }),
      out: (line) => console.log(line),
    });
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    console.error(err.message);
    process.exitCode = EXIT.failed;
  }
}
