import { describe, expect, it } from 'vitest';
import { duplicateRuleAddresses, errorLines } from '../../../scripts/rehearse/terraform.ts';

const DUPLICATE = `aws_vpc.x: Creation complete after 1s
Error: creating VPC Security Group Rule

  with aws_vpc_security_group_ingress_rule.fleet_from-alb_ABC123,
  on cdk.tf.json line 812, in resource.aws_vpc_security_group_ingress_rule.fleet_from-alb_ABC123:
 812:       }

operation error EC2: AuthorizeSecurityGroupIngress, https response error StatusCode: 400, api error
InvalidPermission.Duplicate: the specified rule "peer: sg-1, TCP, from port: 8080, to port: 8080, ALLOW" already exists
`;

const OTHER = `Error: creating EC2 Subnet: operation error EC2: CreateSubnet, api error InvalidParameterValue: bad cidr

  with aws_subnet.network_public-0_1,
`;

describe('apply recovery', () => {
  it('names the rule whose create failed with InvalidPermission.Duplicate', () => {
    expect(duplicateRuleAddresses(DUPLICATE)).toEqual([
      'aws_vpc_security_group_ingress_rule.fleet_from-alb_ABC123',
    ]);
  });

  it('recovers nothing else: other errors name no rule', () => {
    expect(duplicateRuleAddresses(OTHER)).toEqual([]);
    expect(duplicateRuleAddresses(`${OTHER}\n${DUPLICATE}`)).toEqual([
      'aws_vpc_security_group_ingress_rule.fleet_from-alb_ABC123',
    ]);
  });

  it("keeps Terraform's error paragraphs for the message", () => {
    expect(errorLines(`noise\n${OTHER}`)).toMatch(/^Error: creating EC2 Subnet/);
  });
});
