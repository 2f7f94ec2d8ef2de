/**
 * The container telemetry gaps AN0745 names, worded once: the finding's gaps (per workload) and the
 * coverage report's rows (per cluster/namespace) say the same missing thing with the same fix. Each
 * takes what the gap is about: `where` is `cluster/namespace`, `subject` a workload name or a list.
 * The texts carry no `partial:` prefix; a finding adds it.
 */

/** No Kubernetes audit log: who created the workloads is unknown. */
export function noAuditLogGap(where: string, createdWhat: string): string {
  return `no Kubernetes audit log for ${where}: who created ${createdWhat}, from where and with which credentials is unknown (add the API server's audit log)`;
}

/** No process telemetry from inside the containers: the tool leg cannot be seen. */
export function noContainerProcessGap(where: string): string {
  return `no process telemetry from inside the containers of ${where} (Tetragon or Falco JSON, auditd with container ids): miner or proxyware binaries could not be seen`;
}

/** No container CPU metrics: the resource leg cannot be seen. */
export function noContainerCpuGap(subject: string): string {
  return `no container CPU metrics for ${subject} (Prometheus container_cpu_usage_seconds_total, docker stats): CPU against the limit could not be assessed`;
}

/** CPU without a limit: it is judged against the node's cores or one core instead. */
export function noCpuLimitGap(subject: string): string {
  return `no CPU limit known for ${subject} (kube_pod_container_resource_limits, container_spec_cpu_quota, the pod spec): CPU was judged against the node or one core`;
}

/** Plain Docker with no `containers:` policy: Docker records no creator, so nothing can say what is approved. */
export function noDockerPolicyGap(where: string): string {
  return `no containers: policy for ${where}: Docker records no creator, so only coalmine.yaml containers: (registries, images, labels) can say which containers are approved: "is this authorized?" cannot be answered`;
}
