/**
 * @module
 * Observability: the hosts' CloudWatch log group (container logs via Docker's awslogs driver), alarms on unhealthy
 * hosts, on having no healthy host and on the 5xx rate, and one dashboard. Log groups are deleted on destroy.
 */
import { Construct } from 'constructs';
import { CloudwatchDashboard } from '@cdktf/provider-aws/lib/cloudwatch-dashboard/index.js';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';

export interface HostLogsProps {
  /** Deployment name (part of the log group name). */
  readonly name: string;
  /**
   * Days CloudWatch keeps log events.
   * @default 30
   */
  readonly retentionDays?: number;
}

/** The log group hosts write to; created before the fleet so containers can start logging at once. */
export class HostLogs extends Construct {
  readonly logGroup: CloudwatchLogGroup;
  readonly logGroupName: string;

  constructor(scope: Construct, id: string, props: HostLogsProps) {
    super(scope, id);
    this.logGroupName = `/ep/${props.name}/hosts`;
    this.logGroup = new CloudwatchLogGroup(this, 'hosts', {
      name: this.logGroupName,
      retentionInDays: props.retentionDays ?? 30,
      // Deleted by `cdktf destroy` (the default, stated so a later edit does not leave billable logs behind).
      skipDestroy: false,
    });
  }
}

export interface ObservabilityProps {
  /** Deployment name (prefix of alarm and dashboard names). */
  readonly name: string;
  readonly region: string;
  /** `arn_suffix` of the load balancer. */
  readonly loadBalancerArnSuffix: string;
  /** `arn_suffix` of the controller target group. */
  readonly targetGroupArnSuffix: string;
  /** Auto Scaling group of the GPU hosts. */
  readonly autoScalingGroupName: string;
  /**
   * Percentage of requests answered with a 5xx (by targets or the load balancer) that raises the alarm.
   * @default 5
   */
  readonly errorRatePercent?: number;
  /**
   * SNS topic notified when an alarm changes state.
   * @default - alarms have no action (visible in the console and on the dashboard)
   */
  readonly alarmTopicArn?: string;
}

/** Alarms and a dashboard for one deployment. */
export class Observability extends Construct {
  readonly dashboardName: string;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const errorRatePercent = props.errorRatePercent ?? 5;
    const actions = props.alarmTopicArn
      ? { alarmActions: [props.alarmTopicArn], okActions: [props.alarmTopicArn] }
      : {};
    const tgDimensions = {
      TargetGroup: props.targetGroupArnSuffix,
      LoadBalancer: props.loadBalancerArnSuffix,
    };

    new CloudwatchMetricAlarm(this, 'unhealthy-hosts', {
      alarmName: `${props.name}-unhealthy-hosts`,
      alarmDescription:
        'A GPU host fails the /readyz health check (expected for ~30 min while a new host loads models).',
      namespace: 'AWS/ApplicationELB',
      metricName: 'UnHealthyHostCount',
      dimensions: tgDimensions,
      statistic: 'Maximum',
      period: 60,
      evaluationPeriods: 10,
      threshold: 0,
      comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching',
      ...actions,
    });
    new CloudwatchMetricAlarm(this, 'no-healthy-host', {
      alarmName: `${props.name}-no-healthy-host`,
      alarmDescription: 'No GPU host is ready: the API answers 503.',
      namespace: 'AWS/ApplicationELB',
      metricName: 'HealthyHostCount',
      dimensions: tgDimensions,
      statistic: 'Minimum',
      period: 60,
      evaluationPeriods: 10,
      threshold: 1,
      comparisonOperator: 'LessThanThreshold',
      treatMissingData: 'breaching',
      ...actions,
    });
    const lbMetric = (id: string, metricName: string) => ({
      id,
      metric: {
        namespace: 'AWS/ApplicationELB',
        metricName,
        dimensions: { LoadBalancer: props.loadBalancerArnSuffix },
        period: 300,
        stat: 'Sum',
      },
      returnData: false,
    });
    new CloudwatchMetricAlarm(this, 'error-rate', {
      alarmName: `${props.name}-5xx-rate`,
      alarmDescription: `More than ${errorRatePercent}% of API requests end in a 5xx.`,
      evaluationPeriods: 2,
      threshold: errorRatePercent,
      comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching',
      metricQuery: [
        lbMetric('requests', 'RequestCount'),
        lbMetric('target5xx', 'HTTPCode_Target_5XX_Count'),
        lbMetric('lb5xx', 'HTTPCode_ELB_5XX_Count'),
        {
          id: 'rate',
          label: '5xx %',
          expression: '100 * (FILL(target5xx, 0) + FILL(lb5xx, 0)) / requests',
          returnData: true,
        },
      ],
      ...actions,
    });

    // Dashboards are global to the account (their ARN has no region).
    this.dashboardName = `${props.name}-${props.region}`;
    const lb = ['LoadBalancer', props.loadBalancerArnSuffix];
    const tg = ['TargetGroup', props.targetGroupArnSuffix, ...lb];
    const widget = (title: string, metrics: unknown[], x: number, y: number, stat = 'Sum') => ({
      type: 'metric',
      x,
      y,
      width: 12,
      height: 6,
      properties: { title, region: props.region, stat, period: 60, view: 'timeSeries', metrics },
    });
    new CloudwatchDashboard(this, 'dashboard', {
      dashboardName: this.dashboardName,
      dashboardBody: JSON.stringify({
        widgets: [
          widget('Requests', [['AWS/ApplicationELB', 'RequestCount', ...lb]], 0, 0),
          widget(
            '5xx responses',
            [
              ['AWS/ApplicationELB', 'HTTPCode_Target_5XX_Count', ...lb],
              ['AWS/ApplicationELB', 'HTTPCode_ELB_5XX_Count', ...lb],
            ],
            12,
            0,
          ),
          widget(
            'Healthy / unhealthy hosts',
            [
              ['AWS/ApplicationELB', 'HealthyHostCount', ...tg],
              ['AWS/ApplicationELB', 'UnHealthyHostCount', ...tg],
            ],
            0,
            6,
            'Maximum',
          ),
          widget(
            'Response time (p50, p99)',
            [
              ['AWS/ApplicationELB', 'TargetResponseTime', ...lb, { stat: 'p50' }],
              ['AWS/ApplicationELB', 'TargetResponseTime', ...lb, { stat: 'p99' }],
            ],
            12,
            6,
            'Average',
          ),
          widget(
            'Hosts in service',
            [
              [
                'AWS/AutoScaling',
                'GroupInServiceInstances',
                'AutoScalingGroupName',
                props.autoScalingGroupName,
              ],
            ],
            0,
            12,
            'Maximum',
          ),
        ],
      }),
    });
  }
}
