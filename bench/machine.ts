/** The machine a benchmark ran on, written beside its numbers: ratios only compare within one machine. */
import os from 'node:os';

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

export function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    arch: os.arch(),
    totalMemGiB: round(os.totalmem() / 1024 ** 3, 1),
    /** 1-minute load average when the report was built: other work on the machine skews every number. */
    loadAverage: round(os.loadavg()[0], 2),
  };
}

/** The machine as the one sentence every bench's Markdown ends with. */
export function describeMachine(m: ReturnType<typeof machine>): string {
  return (
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.totalMemGiB} GiB, Node ${m.node}, ${m.platform} (${m.arch}); ` +
    `1-minute load average ${m.loadAverage} at the end of the run.`
  );
}
