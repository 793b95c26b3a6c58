/**
 * Pure helpers of the lineage views: the lineage graph as a tree to render (a datum step met
 * again is marked, not repeated), metric series for the plot, unified diffs as lines, refs.
 */
import {
  ILineage,
  ILineageCommit,
  ILineageFile,
  ILineageInput,
  ILineageStep,
  IMetrics
} from './api';

export interface IFileNode {
  file: ILineageFile;
  /** The step that wrote it (`null`: a user commit wrote it, or nothing is known). */
  step: IStepNode | null;
  /** The user commit that wrote it. */
  commit: ILineageCommit | null;
}

export interface IStepNode {
  step: ILineageStep;
  /** True when this step was rendered higher up already (its inputs are not repeated). */
  seen: boolean;
  inputs: Array<{ input: ILineageInput; files: IFileNode[] }>;
}

/** The lineage as a tree from its root file; each step's inputs are expanded once. */
export function lineageTree(lin: ILineage): IFileNode | null {
  const files = new Map(lin.files.map(f => [f.key, f]));
  const steps = new Map(lin.steps.map(s => [s.key, s]));
  const commits = new Map(lin.commits.map(c => [c.id, c]));
  const shown = new Set<string>();

  const fileNode = (file: ILineageFile): IFileNode => {
    let step: IStepNode | null = null;
    if (file.written_by && steps.has(file.written_by)) {
      const s = steps.get(file.written_by)!;
      const seen = shown.has(s.key);
      shown.add(s.key);
      step = {
        step: s,
        seen,
        inputs: seen
          ? []
          : s.inputs.map(input => ({
              input,
              files: input.files.filter(k => files.has(k)).map(k => fileNode(files.get(k)!))
            }))
      };
    }
    const commit = file.written_in ? (commits.get(file.written_in) ?? null) : null;
    return { file, step, commit };
  };

  const root = files.get(lin.root);
  return root ? fileNode(root) : null;
}

/** Every step of the lineage, nearest the root first (breadth first). */
export function stepsInOrder(lin: ILineage): ILineageStep[] {
  const root = lineageTree(lin);
  const out: ILineageStep[] = [];
  const queue: IFileNode[] = root ? [root] : [];
  while (queue.length) {
    const node = queue.shift()!;
    if (node.step && !node.step.seen) {
      out.push(node.step.step);
      node.step.inputs.forEach(i => queue.push(...i.files));
    }
  }
  return out;
}

/** `repo`, commit and path of a `repo@commit:path` key. */
export function splitKey(key: string): { repo: string; ref: string; path: string } {
  const at = key.indexOf('@');
  const colon = key.indexOf(':', at);
  return { repo: key.slice(0, at), ref: key.slice(at + 1, colon), path: key.slice(colon + 1) };
}

/** The metric names of a series of commits, in first-seen order. */
export function metricNames(metrics: IMetrics[]): string[] {
  const names: string[] = [];
  for (const m of metrics) {
    for (const name of Object.keys(m.values)) {
      if (!names.includes(name)) {
        names.push(name);
      }
    }
  }
  return names;
}

export interface IPlotPoint {
  x: number;
  y: number;
  value: number;
  commit: string;
}

/**
 * The points of one metric over a branch's history, oldest on the left, scaled into a
 * `width` × `height` box (with `pad` pixels of margin); commits without the metric are skipped.
 */
export function plotPoints(
  metrics: IMetrics[],
  name: string,
  width: number,
  height: number,
  pad = 4
): IPlotPoint[] {
  const series = [...metrics].reverse().filter(m => typeof m.values[name] === 'number');
  if (!series.length) {
    return [];
  }
  const values = series.map(m => m.values[name]);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const span = hi - lo || 1;
  const step = series.length > 1 ? (width - 2 * pad) / (series.length - 1) : 0;
  return series.map((m, i) => ({
    x: series.length > 1 ? pad + i * step : width / 2,
    y: hi === lo ? height / 2 : pad + (1 - (m.values[name] - lo) / span) * (height - 2 * pad),
    value: m.values[name],
    commit: m.commit
  }));
}

/** An SVG path through the points. */
export function plotPath(points: IPlotPoint[]): string {
  return points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
}

/** A metric value as the CLI prints it: integers whole, else 6 significant digits. */
export function formatMetric(value: number | undefined): string {
  if (value === undefined) {
    return '–';
  }
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}

export interface IUnifiedLine {
  kind: 'add' | 'del' | 'ctx' | 'hunk';
  text: string;
}

/** The lines of a unified diff (its `---`/`+++` header left out). */
export function unifiedLines(diff: string): IUnifiedLine[] {
  return diff
    .split('\n')
    .filter(l => !l.startsWith('--- ') && !l.startsWith('+++ ') && l !== '')
    .map(l => ({
      kind: l.startsWith('@@') ? 'hunk' : l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : 'ctx',
      text: l
    }));
}

/** True for paths a browser shows as images (side by side in the explain view). */
export function isImage(path: string | null): boolean {
  return !!path && /\.(png|jpe?g|gif|webp|bmp|svg)$/i.test(path);
}

/** A `datetime-local` input's value for a moment (local time, to the second). */
export function localInputValue(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}
