/**
 * The evidence timeline's CPU chart: every usage series of a finding (percent of one core, or of the
 * host) on one time axis with uPlot, and each piece of evidence inside the window drawn as a vertical
 * mark coloured by its strength. uPlot draws on a canvas and styles through the CSSOM, both allowed by
 * the console's CSP.
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import type { Evidence, Finding } from './api-types';
import { visible } from './text';

const COLOURS = ['#c0392b', '#2471a3', '#7d3c98', '#1e8449', '#b9770e', '#566573'];
const STRENGTH: Record<string, string> = { strong: '#c0392b', medium: '#d68910', weak: '#7f8c8d' };
/** Series drawn at most (a finding's usage is already bounded; this keeps the legend readable). */
const MAX_SERIES = 6;

/** The series aligned on one time axis (seconds), a gap where a series has no point. */
export function alignSeries(series: NonNullable<Finding['usage']>['series']): uPlot.AlignedData {
  const shown = series.slice(0, MAX_SERIES);
  const times = new Set<number>();
  for (const s of shown) for (const [t] of s.points) times.add(Math.floor(Date.parse(t) / 1000));
  times.delete(Number.NaN);
  const xs = [...times].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = shown.map((s) => {
    const y: (number | null)[] = new Array(xs.length).fill(null);
    for (const [t, v] of s.points) {
      const i = index.get(Math.floor(Date.parse(t) / 1000));
      if (i !== undefined && Number.isFinite(v)) y[i] = v;
    }
    return y;
  });
  return [xs, ...ys];
}

/** Evidence this far outside the series still widens the axis so its mark is seen; farther is left out. */
const MARK_REACH_S = 3600;

/** The series' span widened to the evidence near it (the dropper, the pool contact just before the CPU rises). */
export function timeRange(xs: ArrayLike<number>, evidence: Evidence[]): [number, number] {
  let lo = xs[0];
  let hi = xs[xs.length - 1];
  const [first, last] = [lo, hi];
  for (const e of evidence) {
    const t = Date.parse(e.time) / 1000;
    if (!Number.isFinite(t)) continue;
    if (t < lo && t >= first - MARK_REACH_S) lo = t;
    if (t > hi && t <= last + MARK_REACH_S) hi = t;
  }
  return lo === hi ? [lo - 60, hi + 60] : [lo, hi];
}

function marksPlugin(evidence: Evidence[]): uPlot.Plugin {
  const marks = evidence
    .map((e) => ({ t: Date.parse(e.time) / 1000, colour: STRENGTH[e.strength] ?? '#7f8c8d' }))
    .filter((m) => Number.isFinite(m.t));
  return {
    hooks: {
      draw: [
        (u) => {
          const { ctx } = u;
          const [min, max] = [u.scales.x.min ?? 0, u.scales.x.max ?? 0];
          ctx.save();
          ctx.lineWidth = 2 * uPlot.pxRatio;
          ctx.setLineDash([4 * uPlot.pxRatio, 3 * uPlot.pxRatio]);
          for (const m of marks) {
            if (m.t < min || m.t > max) continue;
            const x = Math.round(u.valToPos(m.t, 'x', true));
            ctx.strokeStyle = m.colour;
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
          }
          ctx.restore();
        },
      ],
    },
  };
}

export function CpuChart(props: { finding: Finding }) {
  const box = useRef<HTMLDivElement>(null);
  const usage = props.finding.usage;
  useEffect(() => {
    const el = box.current;
    if (!el || !usage || usage.series.length === 0) return;
    const data = alignSeries(usage.series);
    if (data[0].length === 0) return;
    const range = timeRange(data[0], props.finding.evidence ?? []);
    const opts: uPlot.Options = {
      width: Math.max(320, el.clientWidth || 800),
      height: 220,
      // from zero: a miner's plateau at 390% is the point, not its ±2% ripple
      scales: { x: { time: true, range: () => range }, y: { range: (_u, _min, max) => [0, Math.max(100, max * 1.1)] } },
      axes: [{}, { label: '% of a core', size: 60 }],
      series: [
        {},
        ...usage.series.slice(0, MAX_SERIES).map((s, i) => ({
          // a label is telemetry: uPlot sets it as text content in its legend
          label: visible(s.label.slice(0, 120)),
          stroke: COLOURS[i % COLOURS.length],
          width: 2,
          spanGaps: false,
        })),
      ],
      plugins: [marksPlugin(props.finding.evidence ?? [])],
    };
    const plot = new uPlot(opts, data, el);
    const resize = () => plot.setSize({ width: Math.max(320, el.clientWidth), height: 220 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [usage, props.finding.evidence]);
  if (!usage || usage.series.length === 0) return <p className="muted">No CPU series in this finding.</p>;
  return (
    <figure className="cpu-chart">
      <div ref={box} data-testid="cpu-chart" />
      <figcaption className="muted">
        {usage.core_hours} core-hours ({usage.basis}); dashed lines: evidence (red strong, amber medium, grey weak)
      </figcaption>
    </figure>
  );
}
