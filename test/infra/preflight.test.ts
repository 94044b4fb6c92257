import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
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
import { parseSettings, type SettingsInput } from '../../infra/config.ts';
import { EXIT, runPreflight } from '../../scripts/preflight.ts';

const ec2Mock = mockClient(EC2Client);
const quotasMock = mockClient(ServiceQuotasClient);

function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name });
}

async function run(input: SettingsInput = {}): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const code = await runPreflight(parseSettings(input), {
    ec2: new EC2Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    }),
    quotas: new ServiceQuotasClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    }),
    out: (l) => lines.push(l),
  });
  return { code, text: lines.join('\n') };
}

describe('preflight', () => {
  beforeEach(() => {
    ec2Mock.reset();
    quotasMock.reset();
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    ec2Mock.on(DescribeInstanceTypeOfferingsCommand).resolves({
      InstanceTypeOfferings: [
        { InstanceType: 'g6.12xlarge', Location: 'us-east-1b', LocationType: 'availability-zone' },
        { InstanceType: 'g6.12xlarge', Location: 'us-east-1a', LocationType: 'availability-zone' },
      ],
    });
  });

  it('passes when the quota covers the fleet, and prints the cost with its source', async () => {
    quotasMock
      .on(GetServiceQuotaCommand, { ServiceCode: 'ec2', QuotaCode: 'L-DB2E81BA' })
      .resolves({
        Quota: { Value: 96 },
      });
    const { code, text } = await run();
    expect(code).toBe(EXIT.ok);
    expect(text).toMatch(/✔ quota: .*L-DB2E81BA\) is 96 vCPUs, 0 in use .*needs 48/);
    expect(text).toContain('✔ offered: g6.12xlarge in us-east-1a, us-east-1b');
    expect(text).toMatch(/\$4\.60\/hour, \$3,359\.17\/month \(730 h\)/);
    expect(text).toMatch(/list price, Linux on-demand, us-east-1, as of 2026-01-19/);
  });

  it('fails with exit code 1 and the increase to request when the quota is short', async () => {
    quotasMock.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 64 } });
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{ CpuOptions: { CoreCount: 2, ThreadsPerCore: 2 } }] }],
    });
    const { code, text } = await run({ hostCount: 2 });
    expect(code).toBe(EXIT.failed);
    expect(text).toMatch(/✘ quota: .* is 64 vCPUs, 4 in use .* but 2 × g6\.12xlarge needs 96/);
    expect(text).toContain('--quota-code L-DB2E81BA --desired-value 100');
    expect(text).toMatch(/\$9\.20\/hour/);
  });

  it('falls back to the AWS default quota when none was applied', async () => {
    quotasMock.on(GetServiceQuotaCommand).rejects(awsError('NoSuchResourceException'));
    quotasMock.on(GetAWSDefaultServiceQuotaCommand).resolves({ Quota: { Value: 0 } });
    const { code, text } = await run();
    expect(code).toBe(EXIT.failed);
    expect(text).toMatch(/is 0 vCPUs/);
  });

  it('reports access denied as "could not check" with exit code 2, naming the permission', async () => {
    quotasMock
      .on(GetServiceQuotaCommand)
      .rejects(awsError('AccessDeniedException', 'User is not authorized'));
    ec2Mock.on(DescribeInstanceTypeOfferingsCommand).rejects(awsError('UnauthorizedOperation'));
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('UnauthorizedOperation'));
    const { code, text } = await run();
    expect(code).toBe(EXIT.unchecked);
    expect(text).toMatch(
      /\? quota: could not check L-DB2E81BA: AccessDeniedException: not allowed to call servicequotas:GetServiceQuota/,
    );
    expect(text).toMatch(
      /\? offered: could not check: UnauthorizedOperation: .*ec2:DescribeInstanceTypeOfferings/,
    );
    expect(text).toMatch(/\$ cost:/);
  });

  it('fails when the instance type is offered in no zone of the region', async () => {
    quotasMock.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 192 } });
    ec2Mock.on(DescribeInstanceTypeOfferingsCommand).resolves({ InstanceTypeOfferings: [] });
    const { code, text } = await run();
    expect(code).toBe(EXIT.failed);
    expect(text).toMatch(/✘ offered: g6\.12xlarge is not offered in any zone of us-east-1/);
  });
});
