/**
 * @module
 * Network: a VPC with public subnets (the NAT gateway only), private subnets for the GPU hosts in zones that offer
 * the GPU instance type, private subnets for the internal load balancer, one NAT gateway and a free S3 gateway
 * endpoint. Nothing in it takes connections from the internet.
 *
 * Cost choice: hosts sit in private subnets behind ONE NAT gateway (~$33/month + $0.045/GB) rather than one per
 * zone (doubling that) or interface endpoints (~$7/month per endpoint per zone, and they would not cover Hugging
 * Face or Docker Hub downloads anyway). Against a g6.12xlarge at ~$3,359/month this is about 1%. S3 traffic (the
 * controller bundle, host config) bypasses the NAT through the gateway endpoint, which is free.
 */
import { Fn, TerraformLocal } from 'cdktf';
import { Construct } from 'constructs';
import { DataAwsAvailabilityZones } from '@cdktf/provider-aws/lib/data-aws-availability-zones/index.js';
import { DataAwsEc2InstanceTypeOfferings } from '@cdktf/provider-aws/lib/data-aws-ec2-instance-type-offerings/index.js';
import { DefaultSecurityGroup } from '@cdktf/provider-aws/lib/default-security-group/index.js';
import { Eip } from '@cdktf/provider-aws/lib/eip/index.js';
import { InternetGateway } from '@cdktf/provider-aws/lib/internet-gateway/index.js';
import { NatGateway } from '@cdktf/provider-aws/lib/nat-gateway/index.js';
import { Route } from '@cdktf/provider-aws/lib/route/index.js';
import { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association/index.js';
import { RouteTable } from '@cdktf/provider-aws/lib/route-table/index.js';
import { Subnet } from '@cdktf/provider-aws/lib/subnet/index.js';
import { VpcEndpoint } from '@cdktf/provider-aws/lib/vpc-endpoint/index.js';
import { Vpc } from '@cdktf/provider-aws/lib/vpc/index.js';

export interface NetworkProps {
  /** Prefix of resource names. */
  readonly name: string;
  /** Region (for the S3 endpoint service name). */
  readonly region: string;
  /** Hosts are placed only in zones that offer this instance type. */
  readonly instanceType: string;
  /**
   * IPv4 range of the VPC (a /16 to /19: public and load balancer subnets are 8 bits smaller and must be /27 or
   * larger, host subnets 4 bits smaller).
   * @default '10.0.0.0/16'
   */
  readonly vpcCidr?: string;
  /**
   * Zones used: this many public and private subnets. Load balancers need at least two.
   * @default 2
   */
  readonly azCount?: number;
}

/** VPC, subnets and routing for one deployment. */
export class Network extends Construct {
  readonly vpcId: string;
  /** Public subnets (one per zone): the NAT gateway only. */
  readonly publicSubnetIds: string[];
  /** Private subnets of the internal load balancer and CloudFront's VPC-origin interfaces, in distinct zones. */
  readonly loadBalancerSubnetIds: string[];
  /** Subnets for the GPU hosts (in zones offering the instance type). */
  readonly privateSubnetIds: string[];

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const vpcCidr = props.vpcCidr ?? '10.0.0.0/16';
    const azCount = props.azCount ?? 2;
    if (azCount < 2)
      throw new Error(`azCount must be at least 2 (load balancers need two zones), got ${azCount}`);

    const offerings = new DataAwsEc2InstanceTypeOfferings(this, 'gpu-offerings', {
      locationType: 'availability-zone',
      filter: [{ name: 'instance-type', values: [props.instanceType] }],
      lifecycle: {
        postcondition: [
          {
            condition: '${length(self.locations) > 0}',
            errorMessage: `${props.instanceType} is not offered in any availability zone of ${props.region}; pick another region or instance type`,
          },
        ],
      },
    });
    const zones = new DataAwsAvailabilityZones(this, 'zones', { state: 'available' });
    // Zones offering the GPU type first, then the others (a load balancer needs two zones even where only one
    // offers the type). Host subnets take `element(gpu zones, i)`, which wraps: one offering zone gets all hosts.
    const gpuZones = new TerraformLocal(this, 'gpu-zones', Fn.sort(offerings.locations));
    const lbZones = new TerraformLocal(
      this,
      'lb-zones',
      Fn.distinct(Fn.concat([gpuZones.asList, Fn.sort(zones.names)])),
    );

    const vpc = new Vpc(this, 'vpc', {
      cidrBlock: vpcCidr,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: { Name: props.name },
    });
    this.vpcId = vpc.id;
    // Strip the default security group of its allow-all rules so nothing uses it by accident.
    new DefaultSecurityGroup(this, 'default-sg', {
      vpcId: vpc.id,
      tags: { Name: `${props.name}-default-unused` },
    });

    const igw = new InternetGateway(this, 'igw', { vpcId: vpc.id, tags: { Name: props.name } });
    const publicRt = new RouteTable(this, 'public-rt', {
      vpcId: vpc.id,
      tags: { Name: `${props.name}-public` },
    });
    new Route(this, 'public-default', {
      routeTableId: publicRt.id,
      destinationCidrBlock: '0.0.0.0/0',
      gatewayId: igw.id,
    });

    this.publicSubnetIds = [];
    for (let i = 0; i < azCount; i++) {
      const subnet = new Subnet(this, `public-${i}`, {
        vpcId: vpc.id,
        availabilityZone: Fn.element(lbZones.asList, i),
        cidrBlock: Fn.cidrsubnet(vpcCidr, 8, i),
        mapPublicIpOnLaunch: false,
        tags: { Name: `${props.name}-public-${i}` },
      });
      new RouteTableAssociation(this, `public-${i}-rt`, {
        subnetId: subnet.id,
        routeTableId: publicRt.id,
      });
      this.publicSubnetIds.push(subnet.id);
    }

    // The EIP belongs to the NAT gateway and is released when the stack is destroyed.
    const natIp = new Eip(this, 'nat-ip', { domain: 'vpc', tags: { Name: `${props.name}-nat` } });
    const nat = new NatGateway(this, 'nat', {
      allocationId: natIp.allocationId,
      subnetId: this.publicSubnetIds[0]!,
      tags: { Name: props.name },
      dependsOn: [igw],
    });
    const privateRt = new RouteTable(this, 'private-rt', {
      vpcId: vpc.id,
      tags: { Name: `${props.name}-private` },
    });
    new Route(this, 'private-default', {
      routeTableId: privateRt.id,
      destinationCidrBlock: '0.0.0.0/0',
      natGatewayId: nat.id,
    });

    this.privateSubnetIds = [];
    for (let i = 0; i < azCount; i++) {
      const subnet = new Subnet(this, `private-${i}`, {
        vpcId: vpc.id,
        // Placed in the same zones as the public subnets so the load balancer reaches every host.
        availabilityZone: Fn.element(gpuZones.asList, i),
        cidrBlock: Fn.cidrsubnet(vpcCidr, 4, i + 1),
        tags: { Name: `${props.name}-private-${i}` },
      });
      new RouteTableAssociation(this, `private-${i}-rt`, {
        subnetId: subnet.id,
        routeTableId: privateRt.id,
      });
      this.privateSubnetIds.push(subnet.id);
    }

    // Distinct zones (a load balancer needs two), the GPU zones first so every host's zone is enabled on it.
    this.loadBalancerSubnetIds = [];
    for (let i = 0; i < azCount; i++) {
      const subnet = new Subnet(this, `lb-${i}`, {
        vpcId: vpc.id,
        availabilityZone: Fn.element(lbZones.asList, i),
        // Inside the first /20-equivalent block, after the public subnets (netnums 0-2).
        cidrBlock: Fn.cidrsubnet(vpcCidr, 8, 8 + i),
        tags: { Name: `${props.name}-lb-${i}` },
      });
      new RouteTableAssociation(this, `lb-${i}-rt`, {
        subnetId: subnet.id,
        routeTableId: privateRt.id,
      });
      this.loadBalancerSubnetIds.push(subnet.id);
    }

    new VpcEndpoint(this, 's3-endpoint', {
      vpcId: vpc.id,
      serviceName: `com.amazonaws.${props.region}.s3`,
      vpcEndpointType: 'Gateway',
      routeTableIds: [privateRt.id],
      tags: { Name: `${props.name}-s3` },
    });
  }
}
