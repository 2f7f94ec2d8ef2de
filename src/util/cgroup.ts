/**
 * A container id from a cgroup path, as the runtimes name their cgroups (Docker, containerd, CRI-O,
 * podman, kubelet's cgroupfs layout). The one table both `/proc/PID/cgroup` (sensor) and cAdvisor's
 * `id` label (Prometheus source) are read with.
 */

export type CgroupRuntime = 'docker' | 'containerd' | 'cri-o' | 'podman' | 'kubepods';

/** Paths longer than any real cgroup path are not searched (the patterns stay cheap on hostile labels). */
const MAX_PATH_CHARS = 4096;

const CGROUP_PATTERNS: Array<[RegExp, CgroupRuntime]> = [
  [/\/docker\/([0-9a-f]{64})(?:\/|$)/, 'docker'],
  [/docker-([0-9a-f]{64})\.scope/, 'docker'],
  [/cri-containerd-([0-9a-f]{64})\.scope/, 'containerd'],
  [/crio-(?:conmon-)?([0-9a-f]{64})\.scope/, 'cri-o'],
  [/libpod-(?:conmon-)?([0-9a-f]{64})\.scope/, 'podman'],
  [/\/kubepods[^\n]*\/([0-9a-f]{64})(?:\/|$)/, 'kubepods'],
  [/\/containerd\/([0-9a-f]{64})(?:\/|$)/, 'containerd'],
];

/** The container id (64 hex) and runtime a cgroup path names, or undefined for a non-container cgroup. */
export function containerOfCgroupPath(path: string): { id: string; runtime: CgroupRuntime } | undefined {
  if (path.length > MAX_PATH_CHARS) return undefined;
  for (const [re, runtime] of CGROUP_PATTERNS) {
    const m = re.exec(path);
    if (m) return { id: m[1], runtime };
  }
  return undefined;
}
