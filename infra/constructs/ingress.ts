/**
 * @module
 * Ingress: the HTTPS entry point. CloudFront is always the front door; it reaches an INTERNAL load balancer in the
 * private subnets through a CloudFront VPC origin, so no load balancer is reachable from the internet and no
 * origin traffic crosses it (no prefix-list rule or origin secret is needed). Without a domain the endpoint is
 * CloudFront's `https://dXXXX.cloudfront.net` and CloudFront speaks HTTP to the ALB inside the VPC. With a domain,
 * HTTPS runs end to end: an ACM certificate in us-east-1 on CloudFront, one in the stack's region on an HTTPS
 * listener of the ALB (CloudFront forwards the Host header, so the ALB's certificate matches), both DNS-validated in
 * Route 53, and Route 53 aliases to CloudFront. Client networks (`allowedCidrs`) are enforced by a CloudFront
 * Function on the viewer's address.
 */
import { TerraformIterator, Token } from 'cdktf';
import { Construct } from 'constructs';
import { AcmCertificateValidation } from '@cdktf/provider-aws/lib/acm-certificate-validation/index.js';
import { AcmCertificate } from '@cdktf/provider-aws/lib/acm-certificate/index.js';
import { CloudfrontDistribution } from '@cdktf/provider-aws/lib/cloudfront-distribution/index.js';
import { CloudfrontFunction } from '@cdktf/provider-aws/lib/cloudfront-function/index.js';
import { CloudfrontVpcOrigin } from '@cdktf/provider-aws/lib/cloudfront-vpc-origin/index.js';
import { DataAwsRoute53Zone } from '@cdktf/provider-aws/lib/data-aws-route53-zone/index.js';
import { LbListener } from '@cdktf/provider-aws/lib/lb-listener/index.js';
import { LbTargetGroup } from '@cdktf/provider-aws/lib/lb-target-group/index.js';
import { Lb } from '@cdktf/provider-aws/lib/lb/index.js';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
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
  /** Managed-AllViewer: the same plus the Host header (the ALB's certificate is for the viewer's host name). */
  allViewer: '216adef6-5c7f-47e4-b989-5492eafa07d3',
} as const;

/** Route 53 hosted zone of every CloudFront distribution (alias targets). */
export const CLOUDFRONT_ZONE_ID = 'Z2FDTNDATAQYW2';

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
  /** Prefix of resource names (at most 24 characters: the ALB name is limited to 32). */
  readonly name: string;
  /** Region of the stack: part of the CloudFront Function name, which is global to the account. */
  readonly region: string;
  readonly vpcId: string;
  /** The VPC's range: CloudFront's VPC-origin interfaces in the ALB's subnets connect from it. */
  readonly vpcCidr: string;
  /** Private subnets in at least two zones, covering every zone that hosts targets (the internal ALB's). */
  readonly privateSubnetIds: string[];
  /** Port the controller listens on. */
  readonly controllerPort: number;
  /**
   * Custom domain: CloudFront answers on it with an ACM certificate, and reaches the ALB over HTTPS.
   * @default - CloudFront's own name and certificate (`https://dXXXX.cloudfront.net`)
   */
  readonly domain?: IngressDomainProps;
  /**
   * Client networks allowed to use the API (a CloudFront Function checks the viewer address).
   * @default ['0.0.0.0/0', '::/0']
   */
  readonly allowedCidrs?: string[];
  /**
   * ALB idle timeout.
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

/** Internal load balancer, target group, CloudFront VPC origin and distribution (plus ACM + Route 53 with a domain). */
export class Ingress extends Construct {
  readonly loadBalancer: Lb;
  readonly targetGroup: LbTargetGroup;
  /** Security group of the ALB: the only source allowed into the hosts. */
  readonly albSecurityGroup: SecurityGroup;
  readonly vpcOrigin: CloudfrontVpcOrigin;
  readonly distribution: CloudfrontDistribution;
  /** `https://…` base URL of the API. */
  readonly endpoint: string;

  constructor(scope: Construct, id: string, props: IngressProps) {
    super(scope, id);
    const allowedCidrs = props.allowedCidrs ?? ['0.0.0.0/0', '::/0'];
    const domain = props.domain;
    const listenerPort = domain ? 443 : 80;

    this.albSecurityGroup = new SecurityGroup(this, 'alb-sg', {
      name: `${props.name}-alb`,
      description: `Internal ALB of ${props.name}`,
      vpcId: props.vpcId,
      tags: { Name: `${props.name}-alb` },
    });
    // Only addresses inside the VPC: CloudFront's VPC-origin interfaces live in the ALB's subnets.
    new VpcSecurityGroupIngressRule(this, 'alb-in-vpc', {
      securityGroupId: this.albSecurityGroup.id,
      ipProtocol: 'tcp',
      fromPort: listenerPort,
      toPort: listenerPort,
      cidrIpv4: props.vpcCidr,
      description: 'CloudFront VPC origin (inside the VPC)',
    });

    this.loadBalancer = new Lb(this, 'alb', {
      name: props.name,
      loadBalancerType: 'application',
      internal: true,
      securityGroups: [this.albSecurityGroup.id],
      subnets: props.privateSubnetIds,
      idleTimeout: props.idleTimeoutSeconds ?? 600,
      dropInvalidHeaderFields: true,
      enableDeletionProtection: false,
    });

    this.targetGroup = new LbTargetGroup(this, 'controller', {
      // A prefix, not a name: a replacement (new port, new VPC) is created before the old group is destroyed,
      // and two groups cannot share a name.
      namePrefix: 'ep-tg-',
      lifecycle: { createBeforeDestroy: true },
      port: props.controllerPort,
      protocol: 'HTTP',
      targetType: 'instance',
      vpcId: props.vpcId,
      deregistrationDelay: String(props.deregistrationDelaySeconds ?? 120),
      loadBalancingAlgorithmType: 'least_outstanding_requests',
      healthCheck: {
        enabled: true,
        // Ready = a quorum of models (controller `minModels`); a host below it only leaves the rotation.
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

    let zoneId: string | undefined;
    let certificates: { regional: string; cloudfront: string } | undefined;
    if (domain) {
      zoneId = this.zoneId(domain);
      certificates = this.certificates(domain, props.region, zoneId);
      new LbListener(this, 'https', {
        loadBalancerArn: this.loadBalancer.arn,
        port: 443,
        protocol: 'HTTPS',
        sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
        certificateArn: certificates.regional,
        defaultAction: [{ type: 'forward', targetGroupArn: this.targetGroup.arn }],
      });
    } else {
      new LbListener(this, 'http', {
        loadBalancerArn: this.loadBalancer.arn,
        port: 80,
        protocol: 'HTTP',
        defaultAction: [{ type: 'forward', targetGroupArn: this.targetGroup.arn }],
      });
    }

    this.vpcOrigin = new CloudfrontVpcOrigin(this, 'vpc-origin', {
      vpcOriginEndpointConfig: [
        {
          name: `${props.name}-${props.region}`,
          arn: this.loadBalancer.arn,
          httpPort: 80,
          httpsPort: 443,
          originProtocolPolicy: domain ? 'https-only' : 'http-only',
          originSslProtocols: [{ items: ['TLSv1.2'], quantity: 1 }],
        },
      ],
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

    const originId = 'internal-alb';
    this.distribution = new CloudfrontDistribution(this, 'cdn', {
      enabled: true,
      comment: `${props.name} API`,
      httpVersion: 'http2and3',
      isIpv6Enabled: true,
      priceClass: props.priceClass ?? 'PriceClass_100',
      waitForDeployment: true,
      ...(domain ? { aliases: [domain.name] } : {}),
      origin: [
        {
          originId,
          domainName: this.loadBalancer.dnsName,
          vpcOriginConfig: {
            vpcOriginId: this.vpcOrigin.id,
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
        originRequestPolicyId: domain
          ? CLOUDFRONT_POLICIES.allViewer
          : CLOUDFRONT_POLICIES.allViewerExceptHostHeader,
        compress: false,
        ...(allowlist
          ? { functionAssociation: [{ eventType: 'viewer-request', functionArn: allowlist.arn }] }
          : {}),
      },
      restrictions: { geoRestriction: { restrictionType: 'none' } },
      viewerCertificate: certificates
        ? {
            acmCertificateArn: certificates.cloudfront,
            sslSupportMethod: 'sni-only',
            minimumProtocolVersion: 'TLSv1.2_2021',
          }
        : { cloudfrontDefaultCertificate: true },
    });

    if (domain && zoneId) {
      this.endpoint = `https://${domain.name}`;
      for (const type of ['A', 'AAAA']) {
        new Route53Record(this, `alias-${type.toLowerCase()}`, {
          zoneId,
          name: domain.name,
          type,
          alias: {
            name: this.distribution.domainName,
            zoneId: CLOUDFRONT_ZONE_ID,
            evaluateTargetHealth: false,
          },
        });
      }
    } else {
      this.endpoint = `https://${this.distribution.domainName}`;
    }
  }

  private zoneId(domain: IngressDomainProps): string {
    if (domain.hostedZoneId !== undefined) return domain.hostedZoneId;
    if (domain.hostedZoneName !== undefined) {
      return new DataAwsRoute53Zone(this, 'zone', {
        name: domain.hostedZoneName,
        privateZone: false,
      }).zoneId;
    }
    throw new Error(`domain ${domain.name}: give hostedZoneId or hostedZoneName`);
  }

  /**
   * The ALB's certificate (stack region) and CloudFront's (always us-east-1): one certificate when the stack is in
   * us-east-1. ACM's DNS validation record depends only on the name and the account, so one set of records
   * validates both.
   */
  private certificates(
    domain: IngressDomainProps,
    region: string,
    zoneId: string,
  ): { regional: string; cloudfront: string } {
    const regional = new AcmCertificate(this, 'certificate', {
      domainName: domain.name,
      validationMethod: 'DNS',
      lifecycle: { createBeforeDestroy: true },
    });
    const options = TerraformIterator.fromComplexList(
      regional.domainValidationOptions,
      'domain_name',
    );
    const records = new Route53Record(this, 'certificate-validation-record', {
      forEach: options,
      zoneId,
      name: options.getString('resource_record_name'),
      type: options.getString('resource_record_type'),
      records: [options.getString('resource_record_value')],
      ttl: 60,
      allowOverwrite: true,
    });
    const fqdns = Token.asList(TerraformIterator.fromResources(records).pluckProperty('fqdn'));
    const regionalValid = new AcmCertificateValidation(this, 'certificate-validation', {
      certificateArn: regional.arn,
      validationRecordFqdns: fqdns,
    });
    if (region === 'us-east-1') {
      return { regional: regionalValid.certificateArn, cloudfront: regionalValid.certificateArn };
    }
    const usEast1 = new AwsProvider(this, 'us-east-1', { alias: 'us-east-1', region: 'us-east-1' });
    const edge = new AcmCertificate(this, 'cloudfront-certificate', {
      provider: usEast1,
      domainName: domain.name,
      validationMethod: 'DNS',
      lifecycle: { createBeforeDestroy: true },
    });
    const edgeValid = new AcmCertificateValidation(this, 'cloudfront-certificate-validation', {
      provider: usEast1,
      certificateArn: edge.arn,
      validationRecordFqdns: fqdns,
      dependsOn: [records],
    });
    return { regional: regionalValid.certificateArn, cloudfront: edgeValid.certificateArn };
  }
}
