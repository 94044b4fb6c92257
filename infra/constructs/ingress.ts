/**
 * @module
 * Ingress: the HTTPS entry point. An internet-facing ALB forwards to the hosts' controller port (health check
 * `/readyz`). Without a domain, a CloudFront distribution with its default certificate is the HTTPS endpoint and
 * the ALB only answers CloudFront: its security group admits the CloudFront origin-facing prefix list, and a
 * listener rule requires a secret origin header (anyone can create a distribution, so the prefix list alone is not
 * enough). With a domain, an ACM certificate (DNS-validated in Route 53) goes on an HTTPS listener, HTTP redirects
 * to HTTPS, and a Route 53 alias points at the ALB.
 */
import { Fn, TerraformIterator, TerraformResource, Token } from 'cdktf';
import { Construct } from 'constructs';
import { AcmCertificateValidation } from '@cdktf/provider-aws/lib/acm-certificate-validation/index.js';
import { AcmCertificate } from '@cdktf/provider-aws/lib/acm-certificate/index.js';
import { CloudfrontDistribution } from '@cdktf/provider-aws/lib/cloudfront-distribution/index.js';
import { CloudfrontFunction } from '@cdktf/provider-aws/lib/cloudfront-function/index.js';
import { DataAwsEc2ManagedPrefixList } from '@cdktf/provider-aws/lib/data-aws-ec2-managed-prefix-list/index.js';
import { DataAwsRoute53Zone } from '@cdktf/provider-aws/lib/data-aws-route53-zone/index.js';
import { LbListenerRule } from '@cdktf/provider-aws/lib/lb-listener-rule/index.js';
import { LbListener } from '@cdktf/provider-aws/lib/lb-listener/index.js';
import { LbTargetGroup } from '@cdktf/provider-aws/lib/lb-target-group/index.js';
import { Lb } from '@cdktf/provider-aws/lib/lb/index.js';
import { Route53Record } from '@cdktf/provider-aws/lib/route53-record/index.js';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group/index.js';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule/index.js';
import { escapeTerraformTemplate } from '../terraform-template.ts';
import { viewerAllowlistCode } from './viewer-allowlist.ts';

/** AWS managed CloudFront policies (fixed ids, the same in every account). */
export const CLOUDFRONT_POLICIES = {
  /** Managed-CachingDisabled: every request goes to the origin. */
  cachingDisabled: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
  /** Managed-AllViewerExceptHostHeader: forwards all viewer headers (Authorization too), query and cookies. */
  allViewerExceptHostHeader: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
} as const;

/** Header CloudFront adds to origin requests; the ALB forwards only requests carrying the secret value. */
export const ORIGIN_VERIFY_HEADER = 'X-Origin-Verify';

export interface IngressDomainProps {
  /** Fully qualified name clients use. */
  readonly name: string;
  /**
   * Hosted zone id holding `name`.
   * @default - looked up by `hostedZoneName`
   */
  readonly hostedZoneId?: string;
  /**
   * Hosted zone name, used when no id is given.
   * @default - `hostedZoneId` must be set
   */
  readonly hostedZoneName?: string;
}

export interface IngressProps {
  /** Prefix of resource names (at most 24 characters: ALB and target group names are limited to 32). */
  readonly name: string;
  /** Region: part of the CloudFront Function name, which is global to the account. */
  readonly region: string;
  readonly vpcId: string;
  /** Public subnets in at least two zones, covering every zone that hosts targets. */
  readonly publicSubnetIds: string[];
  /** Port the controller listens on. */
  readonly controllerPort: number;
  /**
   * Custom domain; switches from CloudFront to ACM + Route 53 on the ALB.
   * @default - CloudFront with its default certificate (`https://dXXXX.cloudfront.net`)
   */
  readonly domain?: IngressDomainProps;
  /**
   * Client networks allowed to use the API: the ALB security group with a domain, a CloudFront Function checking
   * the viewer address without one.
   * @default ['0.0.0.0/0', '::/0']
   */
  readonly allowedCidrs?: string[];
  /**
   * ALB idle timeout: a large batch is answered in one response after all its texts are scored.
   * @default 600
   */
  readonly idleTimeoutSeconds?: number;
  /**
   * CloudFront origin response timeout (60 s is the default quota; up to 180 s after a quota increase).
   * @default 60
   */
  readonly originReadTimeoutSeconds?: number;
  /**
   * Seconds a deregistered host keeps serving in-flight requests.
   * @default 120
   */
  readonly deregistrationDelaySeconds?: number;
  /**
   * CloudFront price class.
   * @default 'PriceClass_100'
   */
  readonly priceClass?: string;
}

/** Load balancer, target group and the HTTPS front (CloudFront or ACM + Route 53). */
export class Ingress extends Construct {
  readonly loadBalancer: Lb;
  readonly targetGroup: LbTargetGroup;
  /** Security group of the ALB: the only source allowed into the hosts. */
  readonly albSecurityGroup: SecurityGroup;
  /** `https://…` base URL of the API. */
  readonly endpoint: string;
  /** The CloudFront distribution (no domain only). */
  readonly distribution?: CloudfrontDistribution;

  constructor(scope: Construct, id: string, props: IngressProps) {
    super(scope, id);
    const allowedCidrs = props.allowedCidrs ?? ['0.0.0.0/0', '::/0'];

    this.albSecurityGroup = new SecurityGroup(this, 'alb-sg', {
      name: `${props.name}-alb`,
      description: `ALB of ${props.name}`,
      vpcId: props.vpcId,
      tags: { Name: `${props.name}-alb` },
    });

    this.loadBalancer = new Lb(this, 'alb', {
      name: props.name,
      loadBalancerType: 'application',
      internal: false,
      securityGroups: [this.albSecurityGroup.id],
      subnets: props.publicSubnetIds,
      idleTimeout: props.idleTimeoutSeconds ?? 600,
      dropInvalidHeaderFields: true,
      enableDeletionProtection: false,
    });

    this.targetGroup = new LbTargetGroup(this, 'controller', {
      // The port is in the name: a new port replaces the group, and the new one must exist (under another name)
      // before the listener moves off the old one.
      name: `${props.name}-${props.controllerPort}`,
      lifecycle: { createBeforeDestroy: true },
      port: props.controllerPort,
      protocol: 'HTTP',
      targetType: 'instance',
      vpcId: props.vpcId,
      deregistrationDelay: String(props.deregistrationDelaySeconds ?? 120),
      loadBalancingAlgorithmType: 'least_outstanding_requests',
      healthCheck: {
        enabled: true,
        path: '/readyz',
        port: 'traffic-port',
        protocol: 'HTTP',
        matcher: '200',
        interval: 15,
        timeout: 5,
        healthyThreshold: 2,
        unhealthyThreshold: 3,
      },
    });

    if (props.domain) {
      this.endpoint = `https://${props.domain.name}`;
      this.withDomain(props.domain, allowedCidrs);
    } else {
      const distribution = this.withCloudFront(props, allowedCidrs);
      this.distribution = distribution;
      this.endpoint = `https://${distribution.domainName}`;
    }
  }

  private withDomain(domain: IngressDomainProps, allowedCidrs: string[]): void {
    for (const [i, cidr] of allowedCidrs.entries()) {
      for (const port of [80, 443]) {
        new VpcSecurityGroupIngressRule(this, `alb-in-${port}-${i}`, {
          securityGroupId: this.albSecurityGroup.id,
          ipProtocol: 'tcp',
          fromPort: port,
          toPort: port,
          ...(cidr.includes(':') ? { cidrIpv6: cidr } : { cidrIpv4: cidr }),
          description: `clients on ${port}`,
        });
      }
    }

    let zoneId: string;
    if (domain.hostedZoneId !== undefined) {
      zoneId = domain.hostedZoneId;
    } else if (domain.hostedZoneName !== undefined) {
      zoneId = new DataAwsRoute53Zone(this, 'zone', {
        name: domain.hostedZoneName,
        privateZone: false,
      }).zoneId;
    } else {
      throw new Error(`domain ${domain.name}: give hostedZoneId or hostedZoneName`);
    }

    const certificate = new AcmCertificate(this, 'certificate', {
      domainName: domain.name,
      validationMethod: 'DNS',
      lifecycle: { createBeforeDestroy: true },
    });
    const options = TerraformIterator.fromComplexList(
      certificate.domainValidationOptions,
      'domain_name',
    );
    const validationRecords = new Route53Record(this, 'certificate-validation-record', {
      forEach: options,
      zoneId,
      name: options.getString('resource_record_name'),
      type: options.getString('resource_record_type'),
      records: [options.getString('resource_record_value')],
      ttl: 60,
      allowOverwrite: true,
    });
    const validation = new AcmCertificateValidation(this, 'certificate-validation', {
      certificateArn: certificate.arn,
      validationRecordFqdns: Token.asList(
        TerraformIterator.fromResources(validationRecords).pluckProperty('fqdn'),
      ),
    });

    new LbListener(this, 'https', {
      loadBalancerArn: this.loadBalancer.arn,
      port: 443,
      protocol: 'HTTPS',
      sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      certificateArn: validation.certificateArn,
      defaultAction: [{ type: 'forward', targetGroupArn: this.targetGroup.arn }],
    });
    new LbListener(this, 'http-redirect', {
      loadBalancerArn: this.loadBalancer.arn,
      port: 80,
      protocol: 'HTTP',
      defaultAction: [
        { type: 'redirect', redirect: { port: '443', protocol: 'HTTPS', statusCode: 'HTTP_301' } },
      ],
    });
    // A only: the VPC and the ALB are IPv4 (an AAAA alias to an IPv4 load balancer would resolve to nothing).
    new Route53Record(this, 'alias-a', {
      zoneId,
      name: domain.name,
      type: 'A',
      alias: {
        name: this.loadBalancer.dnsName,
        zoneId: this.loadBalancer.zoneId,
        evaluateTargetHealth: true,
      },
    });
  }

  private withCloudFront(props: IngressProps, allowedCidrs: string[]): CloudfrontDistribution {
    const cloudfront = new DataAwsEc2ManagedPrefixList(this, 'cloudfront-origin-facing', {
      name: 'com.amazonaws.global.cloudfront.origin-facing',
    });
    // One rule on one port: the prefix list counts as ~55 rules against the 60-rules-per-group quota.
    new VpcSecurityGroupIngressRule(this, 'alb-in-cloudfront', {
      securityGroupId: this.albSecurityGroup.id,
      ipProtocol: 'tcp',
      fromPort: 80,
      toPort: 80,
      prefixListId: cloudfront.id,
      description: 'CloudFront origin-facing servers only',
    });

    // A random value created once and kept in state: `uuid()` changes on every plan, `ignore_changes` pins the
    // first one. It is a shared secret between CloudFront and the ALB (rotate by tainting this resource).
    const originSecret = new TerraformResource(this, 'origin-verify-secret', {
      terraformResourceType: 'terraform_data',
      lifecycle: { ignoreChanges: ['input'] },
    });
    originSecret.addOverride('input', Fn.uuid());
    const secretValue = originSecret.getStringAttribute('output');

    const listener = new LbListener(this, 'http', {
      loadBalancerArn: this.loadBalancer.arn,
      port: 80,
      protocol: 'HTTP',
      defaultAction: [
        {
          type: 'fixed-response',
          fixedResponse: { contentType: 'text/plain', statusCode: '403', messageBody: 'Forbidden' },
        },
      ],
    });
    new LbListenerRule(this, 'from-cloudfront', {
      listenerArn: listener.arn,
      priority: 1,
      condition: [{ httpHeader: { httpHeaderName: ORIGIN_VERIFY_HEADER, values: [secretValue] } }],
      action: [{ type: 'forward', targetGroupArn: this.targetGroup.arn }],
    });

    const openToAll = allowedCidrs.some((c) => c === '0.0.0.0/0' || c === '::/0');
    const allowlist = openToAll
      ? undefined
      : new CloudfrontFunction(this, 'viewer-allowlist', {
          name: `${props.name}-allowlist-${props.region}`,
          runtime: 'cloudfront-js-2.0',
          comment: `403 unless the viewer address is in allowedCidrs of ${props.name}`,
          publish: true,
          // Plain strings reach Terraform verbatim, where `${` would start an interpolation.
          code: escapeTerraformTemplate(viewerAllowlistCode(allowedCidrs)),
        });

    const originId = 'alb';
    return new CloudfrontDistribution(this, 'cdn', {
      enabled: true,
      comment: `${props.name} API`,
      httpVersion: 'http2and3',
      isIpv6Enabled: true,
      priceClass: props.priceClass ?? 'PriceClass_100',
      waitForDeployment: true,
      origin: [
        {
          originId,
          domainName: this.loadBalancer.dnsName,
          customHeader: [{ name: ORIGIN_VERIFY_HEADER, value: secretValue }],
          customOriginConfig: {
            // The ALB has no certificate without a domain; CloudFront reaches it over HTTP on port 80.
            httpPort: 80,
            httpsPort: 443,
            originProtocolPolicy: 'http-only',
            originSslProtocols: ['TLSv1.2'],
            originReadTimeout: props.originReadTimeoutSeconds ?? 60,
            originKeepaliveTimeout: 60,
          },
        },
      ],
      defaultCacheBehavior: {
        targetOriginId: originId,
        viewerProtocolPolicy: 'https-only',
        allowedMethods: ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'],
        cachedMethods: ['GET', 'HEAD'],
        cachePolicyId: CLOUDFRONT_POLICIES.cachingDisabled,
        originRequestPolicyId: CLOUDFRONT_POLICIES.allViewerExceptHostHeader,
        compress: false,
        ...(allowlist
          ? { functionAssociation: [{ eventType: 'viewer-request', functionArn: allowlist.arn }] }
          : {}),
      },
      restrictions: { geoRestriction: { restrictionType: 'none' } },
      viewerCertificate: { cloudfrontDefaultCertificate: true },
    });
  }
}
