/**
 * A cgroup's container id → what an analyst calls it: container name, image, and the Kubernetes pod
 * and namespace, read from the runtimes' own on-disk state, without a daemon socket (the sensor must
 * not need one, and a compromised daemon would lie anyway):
 *   Docker      /var/lib/docker/containers/<id>/config.v2.json (Name, Config.Image, Config.Labels)
 *   containerd  /run/containerd/io.containerd.runtime.v2.task/<namespace>/<id>/config.json (OCI spec
 *               annotations io.kubernetes.cri.*)
 *   CRI-O, podman /var/lib/containers/storage/overlay-containers/<id>/userdata/config.json (annotations)
 * Reads are bounded, each id is looked up once (answers and misses cached, bounded), and what could not
 * be resolved is counted so watch can say so.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ResolvedContainer {
  id: string;
  runtime: 'docker' | 'containerd' | 'cri-o';
  name?: string;
  image?: string;
  pod?: string;
  namespace?: string;
}

const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_CACHED = 4096;
const MAX_TEXT = 256;
const ID = /^[0-9a-f]{12,64}$/;

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v.slice(0, MAX_TEXT) : undefined;
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    const data = readFileSync(path);
    if (data.length > MAX_CONFIG_BYTES) return undefined;
    return record(JSON.parse(data.toString('utf8')));
  } catch {
    return undefined;
  }
}

export class ContainerResolver {
  private readonly cache = new Map<string, ResolvedContainer | null>();
  /** Ids no runtime state explained (the runtime keeps its state elsewhere, or the container is gone). */
  unresolved = 0;

  /** `root` is the host's filesystem root (`/`, or a collected copy). */
  constructor(private readonly root = '/') {}

  resolve(id: string): ResolvedContainer | undefined {
    if (!ID.test(id)) return undefined;
    const cached = this.cache.get(id);
    if (cached !== undefined) return cached ?? undefined;
    const found = this.docker(id) ?? this.containerd(id) ?? this.crio(id);
    if (!found) this.unresolved++;
    if (this.cache.size >= MAX_CACHED) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.set(id, found ?? null);
    return found;
  }

  private docker(id: string): ResolvedContainer | undefined {
    const config = readJson(join(this.root, 'var/lib/docker/containers', id, 'config.v2.json'));
    if (!config) return undefined;
    const inner = record(config.Config);
    const labels = record(inner.Labels);
    return {
      id,
      runtime: 'docker',
      name: text(labels['io.kubernetes.container.name']) ?? text(config.Name)?.replace(/^\//, ''),
      image: text(inner.Image),
      pod: text(labels['io.kubernetes.pod.name']),
      namespace: text(labels['io.kubernetes.pod.namespace']),
    };
  }

  private containerd(id: string): ResolvedContainer | undefined {
    const base = join(this.root, 'run/containerd/io.containerd.runtime.v2.task');
    let namespaces: string[];
    try {
      namespaces = readdirSync(base).slice(0, 16);
    } catch {
      return undefined;
    }
    for (const ns of namespaces) {
      const spec = readJson(join(base, ns, id, 'config.json'));
      if (!spec) continue;
      const a = record(spec.annotations);
      return {
        id,
        runtime: 'containerd',
        name: text(a['io.kubernetes.cri.container-name']),
        image: text(a['io.kubernetes.cri.image-name']),
        pod: text(a['io.kubernetes.cri.sandbox-name']),
        namespace: text(a['io.kubernetes.cri.sandbox-namespace']),
      };
    }
    return undefined;
  }

  private crio(id: string): ResolvedContainer | undefined {
    const spec = readJson(join(this.root, 'var/lib/containers/storage/overlay-containers', id, 'userdata/config.json'));
    if (!spec) return undefined;
    const a = record(spec.annotations);
    return {
      id,
      runtime: 'cri-o',
      name: text(a['io.kubernetes.container.name']) ?? text(a['io.kubernetes.cri-o.ContainerName']),
      image: text(a['io.kubernetes.cri-o.ImageName']),
      pod: text(a['io.kubernetes.pod.name']),
      namespace: text(a['io.kubernetes.pod.namespace']),
    };
  }
}
