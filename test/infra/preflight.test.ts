import { mockClient } from 'aws-sdk-client-mock';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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

/** A stand-in for huggingface.co on loopback: HEAD .../resolve/<rev>/config.json, gated repos need a granted token. */
let hub: Server;
let hubUrl = '';
const GATED = new Set(['meta-llama/Llama-2-7b-hf', 'mistralai/Mistral-7B-v0.1']);
const hubRequests: { url: string; auth: string | undefined }[] = [];
beforeAll(async () => {
  hub = createServer((req, res) => {
    hubRequests.push({ url: req.url ?? '', auth: req.headers.authorization });
    const id = /^\/([^/]+\/[^/]+)\/resolve\//.exec(req.url ?? '')?.[1] ?? '';
    const granted = req.headers.authorization === 'Bearer hf_granted';
    res.statusCode = !GATED.has(id) || granted ? 200 : req.headers.authorization ? 403 : 401;
    res.end();
  });
  await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
  hubUrl = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => hub.close(() => r())));

interface RunOptions {
  hfToken?: string;
  terraform?: string | null;
  credentials?: () => Promise<unknown>;
}

async function run(
  input: SettingsInput = {},
  opts: RunOptions = { hfToken: 'hf_granted' },
): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const code = await runPreflight(parseSettings(input), {
    hubUrl,
    ...(opts.hfToken ? { hfToken: opts.hfToken } : {}),
    terraformVersion: async () => (opts.terraform === undefined ? '1.11.4' : opts.terraform),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
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

  it('checks the token against every model on the Hub, naming refused models and how to get access', async () => {
    quotasMock.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 96 } });
    const granted = await run();
    expect(granted.code).toBe(EXIT.ok);
    expect(granted.text).toContain(
      '✔ model: meta-llama/Llama-2-7b-hf can be downloaded with the token',
    );
    expect(hubRequests.at(-1)?.auth).toBe('Bearer hf_granted');
    expect(hubRequests.at(-1)?.url).toBe('/mistralai/Mistral-7B-v0.1/resolve/main/config.json');

    const refused = await run({}, { hfToken: 'hf_other' });
    expect(refused.code).toBe(EXIT.failed);
    expect(refused.text).toMatch(
      /✘ model: mistralai\/Mistral-7B-v0\.1 the token has no access \(HTTP 403\): .*accept the license at http:\/\/127\.0\.0\.1:\d+\/mistralai\/Mistral-7B-v0\.1/,
    );
    expect(refused.text).toContain('✔ model: microsoft/phi-2');

    const anonymous = await run({}, {});
    expect(anonymous.code).toBe(EXIT.failed);
    expect(anonymous.text).toMatch(
      /✘ model: meta-llama\/Llama-2-7b-hf refused without a token \(HTTP 401\).*HF_TOKEN/,
    );
  });

  it('fails when Terraform is missing or too old for the settings', async () => {
    quotasMock.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 96 } });
    const missing = await run({}, { hfToken: 'hf_granted', terraform: null });
    expect(missing.code).toBe(EXIT.failed);
    expect(missing.text).toMatch(/✘ terraform: `terraform` is not installed .*Terraform >= 1\.0/);
    const old = await run(
      { backend: { bucket: 'state' } },
      { hfToken: 'hf_granted', terraform: '1.9.8' },
    );
    expect(old.code).toBe(EXIT.failed);
    expect(old.text).toContain(
      '✘ terraform: terraform 1.9.8 is older than the 1.10 these settings need',
    );
  });

  it('exits non-zero, saying the AWS checks did not run, when there are no AWS credentials', async () => {
    const { code, text } = await run(
      {},
      {
        hfToken: 'hf_granted',
        credentials: () =>
          Promise.reject(new Error('Could not load credentials from any providers')),
      },
    );
    expect(code).toBe(EXIT.unchecked);
    expect(text).toMatch(/✘ credentials: no usable AWS credentials .*The AWS checks did not run/);
    expect(text).not.toMatch(/quota:/);
  });

  it('names the CloudFront verification new accounts may need, and prices the min-max fleet range', async () => {
    quotasMock.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 192 } });
    const { code, text } = await run({ minHosts: 1, maxHosts: 3 });
    expect(code).toBe(EXIT.ok);
    expect(text).toMatch(/i cloudfront: .*must be verified.*AWS Support/);
    expect(text).toMatch(/needs 144/);
    expect(text).toMatch(/\$4\.60-\$13\.80\/hour/);
  });
});
