/**
 * The cloud telemetry gaps AN0744 names, worded once: the finding's gaps (per launch) and the coverage
 * report's rows (per provider/account/region) say the same missing thing with the same fix. `where` is
 * `cloudWhere(provider, account, region)`. The texts carry no `partial:` prefix; a finding adds it.
 */

/** `aws account 123456789012 us-east-1`; an account or region the data did not name is left out. */
export function cloudWhere(provider: string, account?: string, region?: string): string {
  return `${provider}${account ? ` account ${account}` : ''}${region ? ` ${region}` : ''}`;
}

/** No control-plane audit log: who created the instances, and whether that was approved, is unknown. */
export function noCloudAuditGap(where: string): string {
  return `no control-plane audit log for ${where} (CloudTrail, Cloud Audit Logs, Activity Log): who created the instance(s) and whether that was approved is unknown`;
}

/** No flow or DNS logs: the reach leg (pool traffic) cannot be seen. */
export function noFlowOrDnsGap(where: string): string {
  return `no flow or DNS logs for ${where} (VPC/NSG flow logs, Route 53 Resolver query logs): pool traffic could not be seen`;
}

/** No instance CPU metrics: the resource leg cannot be seen. */
export function noInstanceCpuGap(where: string): string {
  return `no instance CPU metrics for ${where} (CloudWatch CPUUtilization, Cloud Monitoring, Azure Monitor): a CPU spike could not be seen`;
}
