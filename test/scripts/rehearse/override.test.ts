import { describe, expect, it } from 'vitest';
import { buildOverride, reservedParameters } from '../../../scripts/rehearse/override.ts';
import type { StackJson } from '../../../scripts/rehearse/stack-json.ts';

const STACK: StackJson = {
  terraform: { required_providers: { aws: { source: 'aws', version: '6.25.0' } } },
  provider: { aws: [{ region: 'us-east-1' }, { alias: 'us-east-1', region: 'us-east-1' }] },
  data: {
    aws_ssm_parameter: {
      ami: { name: '/aws/service/deeplearning/ami/x86_64/x/latest/ami-id' },
      mine: { name: '/ep/own' },
    },
    aws_iam_policy_document: {
      tls: {
        statement: [
          {
            sid: 'DenyInsecureTransport',
            effect: 'Deny',
            actions: ['s3:*'],
            condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
          },
          { sid: 'Other', effect: 'Allow', actions: ['s3:GetObject'] },
        ],
      },
      other: { statement: [{ effect: 'Allow', actions: ['logs:*'] }] },
    },
  },
  resource: {
    aws_secretsmanager_secret: { hf: { name: 'x/hf-token' } },
    aws_cloudfront_distribution: { cdn: { enabled: true } },
  },
};

const opts = {
  endpoint: 'https://127.0.0.1:1',
  caBundle: '/tmp/ca.pem',
  providerVersion: '5.100.0',
  parameterPrefix: '/ep-rehearsal',
};

describe('the rehearsal override', () => {
  it('relaxes the provider pin to the mirror and says so', () => {
    const o = buildOverride(STACK, opts);
    expect((o.json.terraform as any).required_providers.aws).toEqual({
      source: 'hashicorp/aws',
      version: '5.100.0',
    });
    expect(o.workarounds.find((w) => w.name === 'provider-version')?.why).toMatch(
      /pins hashicorp\/aws 6\.25\.0.*5\.100\.0/,
    );
    expect(
      buildOverride(STACK, { ...opts, providerVersion: '6.25.0' }).workarounds.map((w) => w.name),
    ).not.toContain('provider-version');
  });

  it('points every provider block, aliases included, at the emulator with its certificate', () => {
    const providers = (buildOverride(STACK, opts).json.provider as any).aws as any[];
    expect(providers).toHaveLength(2);
    expect(providers[1].alias).toBe('us-east-1');
    for (const p of providers) {
      expect(p.custom_ca_bundle).toBe('/tmp/ca.pem');
      expect(p.endpoints[0].s3).toBe('https://127.0.0.1:1');
      expect(p.endpoints[0].cloudfront).toBe('https://127.0.0.1:1');
    }
  });

  it('reads a copy of reserved SSM parameters only', () => {
    expect(reservedParameters(STACK).map((p) => p.address)).toEqual(['ami']);
    const o = buildOverride(STACK, opts);
    expect((o.json.data as any).aws_ssm_parameter).toEqual({
      ami: { name: '/ep-rehearsal/aws/service/deeplearning/ami/x86_64/x/latest/ami-id' },
    });
    expect(o.parameters).toHaveLength(1);
  });

  it('turns only the TLS-only Deny into not_actions, keeping every other statement', () => {
    const docs = (buildOverride(STACK, opts).json.data as any).aws_iam_policy_document;
    expect(Object.keys(docs)).toEqual(['tls']);
    const [deny, other] = docs.tls.statement;
    expect(deny.not_actions).toEqual(['s3:*']);
    expect(deny.actions).toBeUndefined();
    expect(deny.condition).toEqual(
      (STACK.data!.aws_iam_policy_document!.tls!.statement as any[])[0].condition,
    );
    expect(other).toEqual({ sid: 'Other', effect: 'Allow', actions: ['s3:GetObject'] });
  });

  it('does not wait for a distribution moto deploys at once, and says so', () => {
    const o = buildOverride(STACK, opts);
    expect((o.json.resource as any).aws_cloudfront_distribution).toEqual({
      cdn: { wait_for_deployment: false },
    });
    expect(o.workarounds.map((w) => w.name)).toContain('cloudfront-deployment-wait');
  });

  it('injects the leftover-secret fault only when asked', () => {
    expect(
      (buildOverride(STACK, opts).json.resource as any).aws_secretsmanager_secret,
    ).toBeUndefined();
    const o = buildOverride(STACK, { ...opts, fault: 'leftover-secret' });
    expect((o.json.resource as any).aws_secretsmanager_secret).toEqual({
      hf: { recovery_window_in_days: 7 },
    });
  });
});
