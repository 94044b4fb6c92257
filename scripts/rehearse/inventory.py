"""Lists, through the emulated AWS APIs, every resource a deployment can leave behind, as JSON on stdout.

Run by scripts/rehearse (inventory.ts) with the emulator's endpoint, certificate and credentials in the
environment (AWS_ENDPOINT_URL, AWS_CA_BUNDLE, ...). One process for every call keeps it fast.
"""

import json
import os
import sys

import boto3


def client(name):
    return boto3.client(
        name,
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
        verify=os.environ["AWS_CA_BUNDLE"],
        region_name=os.environ["AWS_REGION"],
    )


def pages(c, op, key, **kw):
    out = []
    for page in c.get_paginator(op).paginate(**kw):
        out.extend(page.get(key, []))
    return out


def main():
    ec2 = client("ec2")
    elb = client("elbv2")
    asg = client("autoscaling")
    sm = client("secretsmanager")
    s3 = client("s3")
    logs = client("logs")
    cf = client("cloudfront")
    iam = client("iam")
    cw = client("cloudwatch")
    r53 = client("route53")
    acm = client("acm")

    inv = {}
    inv["instances"] = [
        {"id": i["InstanceId"], "state": i["State"]["Name"], "type": i["InstanceType"],
         "launchTemplate": (i.get("LaunchTemplate") or {}).get("LaunchTemplateId")}
        for r in pages(ec2, "describe_instances", "Reservations")
        for i in r["Instances"]
        if i["State"]["Name"] not in ("terminated",)
    ]
    inv["eips"] = [a.get("AllocationId") for a in ec2.describe_addresses()["Addresses"]]
    inv["nat_gateways"] = [n["NatGatewayId"] for n in pages(ec2, "describe_nat_gateways", "NatGateways")
                           if n["State"] not in ("deleted", "deleting")]
    inv["vpcs"] = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")]
    inv["subnets"] = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if not s.get("DefaultForAz")]
    inv["security_groups"] = [g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]
                              if g["GroupName"] != "default"]
    inv["internet_gateways"] = [g["InternetGatewayId"] for g in ec2.describe_internet_gateways()["InternetGateways"]]
    inv["route_tables"] = [t["RouteTableId"] for t in ec2.describe_route_tables()["RouteTables"]
                           if not any(a.get("Main") for a in t.get("Associations", []))]
    inv["vpc_endpoints"] = [e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]
                            if e.get("State", "").lower() != "deleted"]
    inv["launch_templates"] = [
        {"id": t["LaunchTemplateId"], "name": t["LaunchTemplateName"]}
        for t in ec2.describe_launch_templates()["LaunchTemplates"]
    ]
    inv["load_balancers"] = [
        {"arn": lb["LoadBalancerArn"], "name": lb["LoadBalancerName"], "scheme": lb.get("Scheme"),
         "dns": lb["DNSName"]}
        for lb in elb.describe_load_balancers()["LoadBalancers"]
    ]
    inv["target_groups"] = [
        {"arn": t["TargetGroupArn"], "name": t["TargetGroupName"], "port": t.get("Port"),
         "healthPath": t.get("HealthCheckPath")}
        for t in elb.describe_target_groups()["TargetGroups"]
    ]
    inv["listeners"] = [
        {"arn": li["ListenerArn"], "port": li["Port"], "protocol": li["Protocol"]}
        for lb in inv["load_balancers"]
        for li in elb.describe_listeners(LoadBalancerArn=lb["arn"])["Listeners"]
    ]
    inv["autoscaling_groups"] = [
        {"name": g["AutoScalingGroupName"], "desired": g["DesiredCapacity"],
         "instances": [i["InstanceId"] for i in g.get("Instances", [])],
         "targetGroups": g.get("TargetGroupARNs", [])}
        for g in asg.describe_auto_scaling_groups()["AutoScalingGroups"]
    ]
    inv["secrets"] = [
        {"name": s["Name"], "deleted": "DeletedDate" in s}
        for s in sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]
    ]
    inv["buckets"] = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    inv["log_groups"] = [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]
    dists = cf.list_distributions()["DistributionList"].get("Items", [])
    def aliases(d):
        # moto's ListDistributions summary leaves Aliases out; the distribution's own config has them.
        listed = (d.get("Aliases") or {}).get("Items") or []
        if listed:
            return listed
        config = cf.get_distribution_config(Id=d["Id"])["DistributionConfig"]
        return (config.get("Aliases") or {}).get("Items") or []
    inv["distributions"] = [{"id": d["Id"], "domain": d.get("DomainName"), "aliases": aliases(d)}
                            for d in dists]
    inv["vpc_origins"] = [
        {"id": o["Id"], "endpoint": o["OriginEndpointArn"]}
        for o in cf.list_vpc_origins()["VpcOriginList"].get("Items", [])
    ] if hasattr(cf, "list_vpc_origins") else []
    inv["iam_roles"] = [r["RoleName"] for r in pages(iam, "list_roles", "Roles")
                        if not r["Path"].startswith("/aws-service-role/")]
    inv["instance_profiles"] = [p["InstanceProfileName"] for p in pages(iam, "list_instance_profiles", "InstanceProfiles")]
    inv["alarms"] = [a["AlarmName"] for a in cw.describe_alarms()["MetricAlarms"]]
    inv["dashboards"] = [d["DashboardName"] for d in cw.list_dashboards()["DashboardEntries"]]
    inv["hosted_zone_records"] = [
        {"zone": z["Name"], "name": r["Name"], "type": r["Type"]}
        for z in r53.list_hosted_zones()["HostedZones"]
        for r in r53.list_resource_record_sets(HostedZoneId=z["Id"])["ResourceRecordSets"]
        if r["Type"] not in ("NS", "SOA")
    ]
    inv["certificates"] = [c["CertificateArn"] for c in acm.list_certificates()["CertificateSummaryList"]]
    json.dump(inv, sys.stdout)


if __name__ == "__main__":
    main()
