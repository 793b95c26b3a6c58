import { ILineage, IMetrics } from '../lineage/api';
import {
  formatMetric,
  isImage,
  lineageTree,
  localInputValue,
  metricNames,
  plotPath,
  plotPoints,
  splitKey,
  stepsInOrder,
  unifiedLines
} from '../lineage/tree';

const file = (key: string, extra: Record<string, unknown> = {}) => {
  const { repo, ref, path } = splitKey(key);
  return { key, repo, commit: ref, path, hash: 'h' + key, size_bytes: 1, written_by: null, written_in: null, via: [], note: '', ...extra };
};

const step = (key: string, pipeline: string, inputs: Array<[string, string[]]>) => ({
  key,
  pipeline,
  job: key.split('/')[0],
  datum: key.split('/')[1],
  global_id: null,
  version: 1,
  spec_commit: 's',
  output_commit: 'o',
  notebook: null,
  notebook_hash: null,
  cmd: [],
  parameters: {},
  has_notebook: false,
  cell: null,
  started: null,
  duration_s: 0,
  inputs: inputs.map(([name, files]) => ({ name, repo: name, commit: 'c', path: '/', files, more_files: 0 }))
});

// a diamond: joined <- left, right <- raw
const diamond: ILineage = {
  root: 'joined@j:/out.csv',
  files: [
    file('joined@j:/out.csv', { written_by: 'J/d' }),
    file('left@l:/l.csv', { written_by: 'L/d' }),
    file('right@r:/r.csv', { written_by: 'R/d' }),
    file('raw@c:/data.csv', { written_in: 'c' })
  ],
  steps: [
    step('J/d', 'joined', [['left', ['left@l:/l.csv']], ['right', ['right@r:/r.csv']]]),
    step('L/d', 'left', [['raw', ['raw@c:/data.csv']]]),
    step('R/d', 'right', [['raw', ['raw@c:/data.csv']]])
  ],
  commits: [{ repo: 'raw', id: 'c', branch: 'master', origin: 'user', message: 'm', time: null, actor: 'ana', global_id: null, restores: null }],
  truncated: false
};

describe('lineage tree', () => {
  it('expands each step once and names the user commit at the end', () => {
    const root = lineageTree(diamond)!;
    expect(root.step?.step.pipeline).toBe('joined');
    const [left, right] = root.step!.inputs.map(i => i.files[0]);
    expect(left.step?.seen).toBe(false);
    expect(right.step?.seen).toBe(false);
    expect(left.step!.inputs[0].files[0].commit?.actor).toBe('ana');
    expect(stepsInOrder(diamond).map(s => s.pipeline)).toEqual(['joined', 'left', 'right']);
  });

  it('marks a step met again', () => {
    const shared: ILineage = {
      ...diamond,
      files: [
        file('p@1:/a', { written_by: 'P/d' }),
        file('m@2:/x', { written_by: 'M/d' }),
        file('m@2:/y', { written_by: 'M/d' })
      ],
      root: 'p@1:/a',
      steps: [step('P/d', 'p', [['m', ['m@2:/x', 'm@2:/y']]]), step('M/d', 'm', [])]
    };
    const [x, y] = lineageTree(shared)!.step!.inputs[0].files;
    expect([x.step?.seen, y.step?.seen]).toEqual([false, true]);
    expect(y.step?.inputs).toEqual([]);
  });

  it('splits keys with colons in the path', () => {
    expect(splitKey('repo@abc:/dir/a:b.csv')).toEqual({ repo: 'repo', ref: 'abc', path: '/dir/a:b.csv' });
  });
});

describe('metrics', () => {
  const m = (commit: string, values: Record<string, number>): IMetrics => ({
    commit, repo: 'model', branch: 'master', origin: 'auto', message: '', time: null, values, source: commit, indexed: true, global_id: null
  });
  const newestFirst = [m('c3', { acc: 0.9 }), m('c2', { acc: 0.8, loss: 2 }), m('c1', { acc: 0.7 })];

  it('plots oldest on the left, highest on top', () => {
    const pts = plotPoints(newestFirst, 'acc', 100, 50, 0);
    expect(pts.map(p => p.commit)).toEqual(['c1', 'c2', 'c3']);
    expect(pts[0].x).toBe(0);
    expect(pts[2].x).toBe(100);
    expect(pts[2].y).toBe(0);
    expect(pts[0].y).toBe(50);
    expect(plotPath(pts)).toMatch(/^M0\.0,50\.0 L50\.0,25\.0 L100\.0,0\.0$/);
    expect(plotPoints(newestFirst, 'loss', 100, 50)).toHaveLength(1);
    expect(metricNames(newestFirst)).toEqual(['acc', 'loss']);
  });

  it('formats values as the CLI does', () => {
    expect(formatMetric(120)).toBe('120');
    expect(formatMetric(0.928571428)).toBe('0.928571');
    expect(formatMetric(undefined)).toBe('–');
  });
});

describe('bits', () => {
  it('reads unified diffs, images and times', () => {
    expect(unifiedLines('--- old\n+++ new\n@@ -1 +1 @@\n-a\n+b\n c').map(l => l.kind)).toEqual(['hunk', 'del', 'add', 'ctx']);
    expect(isImage('/plot.PNG')).toBe(true);
    expect(isImage('/model.pkl')).toBe(false);
    expect(localInputValue(new Date(2024, 4, 1, 9, 5, 7))).toBe('2024-05-01T09:05:07');
  });
});
