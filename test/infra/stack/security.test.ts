import { describe, expect, it } from 'vitest';
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket/index.js';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule/index.js';
import {
  bucketViolations,
  hostIngressViolations,
  hostSecurityGroups,
  iamWildcardViolations,
  loadBalancerSecurityGroups,
  originViolations,
  parameterReadViolations,
  policyStatements,
  publicLoadBalancerViolations,
  sshViolations,
} from './policy-checks.ts';
import { all, only, synth } from './synth.ts';

const DOMAIN = { domain: { name: 'api.example.com', hostedZoneId: 'Z0123456789' } };

describe('security policy', () => {
  // GIVEN the default stack and the domain variant (the two ingress shapes)
  const variants = { default: synth(), domain: synth(DOMAIN) };

  for (const [name, s] of Object.entries(variants)) {
    describe(`${name} settings`, () => {
      it('hosts accept traffic only from the load balancer security group, on the controller port', () => {
        expect(hostIngressViolations(s)).toEqual([]);
        const hostSg = [...hostSecurityGroups(s)];
        const albSg = [...loadBalancerSecurityGroups(s)];
        expect(hostSg).toHaveLength(1);
        const ingress = all(s.resource, 'aws_vpc_security_group_ingress_rule').filter(
          (r) => r.security_group_id === `\${${hostSg[0]}.id}`,
        );
        expect(ingress).toEqual([
          expect.objectContaining({
            referenced_security_group_id: `\${${albSg[0]}.id}`,
            from_port: 8080,
            to_port: 8080,
            ip_protocol: 'tcp',
          }),
        ]);
      });

      it('no security group rule covers port 22 and no group has inline rules', () => {
        expect(sshViolations(s)).toEqual([]);
        for (const g of all(s.resource, 'aws_security_group')) {
          expect(g.ingress).toBeUndefined();
          expect(g.egress).toBeUndefined();
        }
        expect(s.resource.aws_security_group_rule).toBeUndefined();
      });

      it('no IAM statement allows every action or any service wildcard on every resource', () => {
        expect(policyStatements(s).length).toBeGreaterThanOrEqual(6);
        expect(iamWildcardViolations(s)).toEqual([]);
      });

      it('no load balancer faces the internet and no origin is reached in cleartext across it', () => {
        expect(publicLoadBalancerViolations(s)).toEqual([]);
        expect(originViolations(s)).toEqual([]);
        expect(s.resource.aws_cloudfront_vpc_origin).toBeDefined();
      });

      it('the hosts may not read SSM parameters, and change only their own Auto Scaling group', () => {
        expect(parameterReadViolations(s)).toEqual([]);
        const grants = policyStatements(s).filter(({ statement }) =>
          [statement.Action ?? []].flat().some((a) => a.startsWith('autoscaling:')),
        );
        expect(grants).toHaveLength(1);
        expect([grants[0]!.statement.Action].flat().sort()).toEqual([
          'autoscaling:SetInstanceHealth',
          'autoscaling:SetInstanceProtection',
        ]);
        expect(grants[0]!.statement.Resource).toEqual([
          expect.stringMatching(
            /^arn:\$\{data\.aws_partition\.[^}]+\}:autoscaling:us-east-1:\$\{data\.aws_caller_identity\.[^}]+\}:autoScalingGroup:\*:autoScalingGroupName\/ensembled-perplexity-hosts$/,
          ),
        ]);
      });

      it('the hosts write to S3 only the calibration prefix of the artifacts bucket', () => {
        const writes = policyStatements(s).filter(
          ({ statement }) =>
            statement.Effect === 'Allow' &&
            [statement.Action ?? []]
              .flat()
              .some((a) => /^s3:(Put|Delete|\*|Copy|Restore|Abort)/.test(a)),
        );
        expect(writes).toHaveLength(1);
        expect([writes[0]!.statement.Action].flat()).toEqual(['s3:PutObject']);
        const bucket = Object.keys(s.resource.aws_s3_bucket ?? {})[0];
        expect(writes[0]!.statement.Resource).toEqual([
          `\${aws_s3_bucket.${bucket}.arn}/hosts/calibration/*`,
        ]);
        // The object the hosts keep in step lies under that prefix (host.env: defaults.test.ts).
        expect(s.output.calibration_s3_uri?.value).toBe(
          `s3://\${aws_s3_bucket.${bucket}.bucket}/hosts/calibration/calibration.json`,
        );
      });

      it('every bucket blocks public access and is encrypted', () => {
        expect(Object.keys(s.resource.aws_s3_bucket ?? {})).not.toHaveLength(0);
        expect(bucketViolations(s)).toEqual([]);
      });

      it('hosts launch without a key pair or public address, IMDSv2 only', () => {
        const lt = only(s.resource, 'aws_launch_template');
        expect(lt.key_name).toBeUndefined();
        expect(lt.network_interfaces).toBeUndefined();
        expect(lt.metadata_options).toMatchObject({
          http_tokens: 'required',
          http_endpoint: 'enabled',
        });
        for (const sub of all(s.resource, 'aws_subnet'))
          expect(sub.map_public_ip_on_launch).not.toBe(true);
      });
    });
  }

  describe('the checks catch regressions', () => {
    it('fails on an internet-facing load balancer, an HTTP origin or a prefix-list rule (the old ingress)', () => {
      const s = synth({}, (stack) => {
        stack.ingress.loadBalancer.addOverride('internal', false);
        stack.ingress.distribution.addOverride('origin.0.vpc_origin_config', null);
        stack.ingress.distribution.addOverride('origin.0.custom_origin_config', {
          http_port: 80,
          https_port: 443,
          origin_protocol_policy: 'http-only',
          origin_ssl_protocols: ['TLSv1.2'],
        });
        new VpcSecurityGroupIngressRule(stack, 'cloudfront-prefix-list', {
          securityGroupId: stack.ingress.albSecurityGroup.id,
          prefixListId: 'pl-3b927c52',
          ipProtocol: 'tcp',
          fromPort: 80,
          toPort: 80,
        });
      });
      expect(publicLoadBalancerViolations(s).join('\n')).toMatch(/internet-facing/);
      expect(originViolations(s).join('\n')).toMatch(/over http-only across the internet/);
      expect(originViolations(s).join('\n')).toMatch(/ingress from a prefix list/);
    });

    it('fails when the hosts may read every SSM parameter', () => {
      const s = synth({}, (stack) => {
        new IamRolePolicyAttachment(stack, 'ssm-core', {
          role: stack.fleet.role.name,
          policyArn: 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore',
        });
      });
      expect(parameterReadViolations(s).join('\n')).toMatch(/AmazonSSMManagedInstanceCore/);
    });

    it('fails if the hosts are opened to the internet', () => {
      const s = synth({}, (stack) => {
        new VpcSecurityGroupIngressRule(stack, 'oops', {
          securityGroupId: stack.fleet.securityGroup.id,
          cidrIpv4: '0.0.0.0/0',
          ipProtocol: 'tcp',
          fromPort: 22,
          toPort: 22,
        });
      });
      expect(hostIngressViolations(s).join('\n')).toMatch(/0\.0\.0\.0\/0 \(the internet\)/);
      expect(sshViolations(s).join('\n')).toMatch(/covers port 22/);
    });

    it('fails if an all-traffic rule appears anywhere', () => {
      const s = synth({}, (stack) => {
        new VpcSecurityGroupIngressRule(stack, 'all-traffic', {
          securityGroupId: stack.ingress.albSecurityGroup.id,
          cidrIpv6: '::/0',
          ipProtocol: '-1',
        });
      });
      expect(sshViolations(s)).toHaveLength(1);
    });

    it('fails on "*" on "*", in a data-source document or inline JSON', () => {
      const s = synth({}, (stack) => {
        const doc = new DataAwsIamPolicyDocument(stack, 'admin', {
          statement: [{ effect: 'Allow', actions: ['*'], resources: ['*'] }],
        });
        new IamRolePolicy(stack, 'admin-policy', { role: stack.fleet.role.id, policy: doc.json });
        new IamRolePolicy(stack, 'inline-admin', {
          role: stack.fleet.role.id,
          policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
          }),
        });
      });
      const found = iamWildcardViolations(s).join('\n');
      expect(found).toMatch(/data\.aws_iam_policy_document\.admin.*"\*" on "\*"/);
      expect(found).toMatch(/aws_iam_role_policy\.inline-admin\.policy: Allow s3:\* on "\*"/);
    });

    it('fails on a bucket without a public access block or encryption', () => {
      const s = synth({}, (stack) => {
        new S3Bucket(stack, 'leaky', { bucket: 'leaky' });
      });
      expect(bucketViolations(s)).toEqual([
        'aws_s3_bucket.leaky: no public access block',
        'aws_s3_bucket.leaky: not encrypted',
      ]);
    });
  });
});
