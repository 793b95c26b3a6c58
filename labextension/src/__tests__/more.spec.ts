import { Stream } from '@lumino/signaling';

import { trustNotebook } from '../drive';
import { followedRef } from '../follow';
import { errorField } from '../forms';
import { formatSize } from '../format';
import {
  filterCommits,
  isInternalBranch,
  jobDisplayState,
  LogModel,
  PipesModel,
  repoMark,
  sortDatums
} from '../model';
import {
  commitFromWorkspace,
  copyToWorkspace,
  defaultCopyName,
  defaultWorkspaceMessage,
  normalDest
} from '../model/workspace';
import { Emission, EventStream } from '../model/events';
import { PipesRequestError, requestAPI, requestBytes } from '../request';
import { commit, irisDag, job, router, settle } from './helpers';

jest.mock('../request', () => {
  class PipesRequestError extends Error {
    constructor(message: string, readonly status: number, readonly body: Record<string, unknown> = {}) {
      super(message);
    }
  }
  return { requestAPI: jest.fn(), requestBytes: jest.fn(), PipesRequestError };
});
jest.mock('@jupyterlab/apputils', () => ({ Dialog: class {}, ReactWidget: class {} }));
jest.mock('@jupyterlab/application', () => ({}));
jest.mock('@jupyterlab/docmanager', () => ({}));
jest.mock('@jupyterlab/docregistry', () => ({}));
jest.mock('@lumino/widgets', () => ({ Widget: class {} }));
const api = requestAPI as jest.MockedFunction<typeof requestAPI>;
const bytes = requestBytes as jest.MockedFunction<typeof requestBytes>;

describe('states and marks', () => {
  it('marks an output repo whose newest job failed, could not run, or runs', () => {
    const dag = irisDag();
    expect(repoMark(dag, 'predict')).toBeNull();
    expect(repoMark(dag, 'training')).toBeNull(); // a user repo is never stale
    const with_ = (state: any) => ({
      ...dag,
      nodes: dag.nodes.map(n => (n.id === 'pipeline:predict' ? { ...n, state } : n))
    });
    expect(repoMark(with_('failure'), 'predict')).toMatchObject({ kind: 'failed', label: 'last job failed' });
    expect(repoMark(with_('killed'), 'predict')?.kind).toBe('failed');
    expect(repoMark(with_('unrunnable'), 'predict')).toMatchObject({ kind: 'stale' });
    expect(repoMark(with_('running'), 'predict')).toMatchObject({ kind: 'updating' });
  });

  it('says “starting” while the cluster starts and no datum is done', () => {
    expect(jobDisplayState(job('j', { processed: 0 }), true)).toBe('starting');
    expect(jobDisplayState(job('j', { processed: 0 }), false)).toBe('running');
    expect(jobDisplayState(job('j', { processed: 1 }), true)).toBe('running');
    expect(jobDisplayState(job('j', { state: 'created', processed: 0 }), true)).toBe('queued');
  });

  it('knows internal branches: spec of a pipeline’s output repo only', () => {
    const dag = irisDag();
    expect(isInternalBranch(dag, 'model', 'spec')).toBe(true);
    expect(isInternalBranch(dag, 'model', 'master')).toBe(false);
    expect(isInternalBranch(dag, 'training', 'spec')).toBe(false); // a user's branch named spec
  });
});

describe('search', () => {
  it('finds commits by message words and id prefixes', () => {
    const commits = [
      commit('a1b2c3', { message: 'more training rows' }),
      commit('ffee00', { message: 'first rows' }),
      commit('a1ff00', { message: '' })
    ];
    expect(filterCommits(commits, 'rows').map(c => c.id)).toEqual(['a1b2c3', 'ffee00']);
    expect(filterCommits(commits, 'A1').map(c => c.id)).toEqual(['a1b2c3', 'a1ff00']);
    expect(filterCommits(commits, 'a1 training').map(c => c.id)).toEqual(['a1b2c3']);
    expect(filterCommits(commits, 'b2c3')).toEqual([]); // an id matches by its start only
    expect(filterCommits(commits, '  ')).toHaveLength(3);
  });

  it('sorts failed datums first, keeping the order within a state', () => {
    const d = (id: string, state: string) => ({ id, state }) as any;
    const sorted = sortDatums([d('1', 'skipped'), d('2', 'failed'), d('3', 'success'), d('4', 'failed')]);
    expect(sorted.map(x => x.id)).toEqual(['2', '4', '3', '1']);
    const live = sortDatums([d('1', 'skipped'), d('2', 'success'), d('3', 'running'), d('4', 'failed')]);
    expect(live.map(x => x.id)).toEqual(['4', '3', '2', '1']); // then the running ones
    expect(sortDatums([d('1', 'running'), d('2', 'success')], 'running').map(x => x.id)).toEqual(['1']);
  });
});

describe('executed notebooks and pipes: tabs', () => {
  it('marks every code cell trusted', () => {
    const nb = {
      cells: [
        { cell_type: 'markdown', metadata: {} },
        { cell_type: 'code', metadata: { tags: ['parameters'] } },
        { cell_type: 'code' }
      ]
    };
    trustNotebook(nb);
    expect(nb.cells.map((c: any) => c.metadata?.trusted)).toEqual([undefined, true, true]);
    expect((nb.cells[1] as any).metadata.tags).toEqual(['parameters']);
  });

  it('follows pipes: paths on a ref', () => {
    expect(followedRef('pipes:predict@master/out/a.pred')).toEqual({
      kind: 'file',
      repo: 'predict',
      ref: 'master',
      path: '/out/a.pred'
    });
    expect(followedRef('notebooks/a.ipynb')).toBeNull();
    expect(followedRef('pipes:jobs/j/d/x.ipynb')).toBeNull();
  });

  it('formats sizes one way', () => {
    expect(formatSize(2190)).toBe('2.139KiB'); // as `%pipe` and the CLI print it
  });
});

describe('forms', () => {
  it('puts a server error by the field it names', () => {
    const fields = [
      { name: 'name', label: 'Name', errorKeys: ['repo', 'name'] },
      { name: 'description', label: 'Description' }
    ];
    const bad = new PipesRequestError('invalid repo name', 400, { error: 'InvalidArgument', repo: 'a b' });
    expect(errorField(bad, fields)).toBe('name');
    const named = new PipesRequestError('no', 400, { field: 'description' });
    expect(errorField(named, fields)).toBe('description');
    expect(errorField(new PipesRequestError('down', 503, { error: 'StorageError' }), fields)).toBeNull();
    expect(errorField(new Error('network'), fields)).toBeNull();
  });
});

describe('the workspace', () => {
  beforeEach(() => api.mockReset());

  it('commits workspace paths and copies stored files out', async () => {
    const r = router([
      ['repos/data/branches/dev/from-workspace', commit('c1', { repo: 'data' })],
      ['repos/data/commits/abc/to-workspace', { to: 'copies/x', type: 'dir', size_bytes: 3 }]
    ]);
    api.mockImplementation(r.impl);
    await commitFromWorkspace('data', 'dev', ['a.csv', 'imgs'], 'raw/', 'two things');
    expect(r.calls[0].init.method).toBe('POST');
    expect(JSON.parse(String(r.calls[0].init.body))).toEqual({
      paths: ['a.csv', 'imgs'],
      dest: '/raw',
      message: 'two things'
    });
    const copied = await copyToWorkspace('data', 'abc', '/x', '/copies/x', true);
    expect(copied.to).toBe('copies/x');
    expect(JSON.parse(String(r.calls[1].init.body))).toEqual({ path: '/x', to: 'copies/x', overwrite: true });
    expect(normalDest('')).toBe('/');
    expect(defaultCopyName('data', '/')).toBe('data');
    expect(defaultCopyName('data', '/dir/a.csv')).toBe('a.csv');
    expect(defaultWorkspaceMessage(['a/b.csv'])).toBe('add b.csv');
    expect(defaultWorkspaceMessage(['1', '2', '3', '4'])).toBe('add 1, 2 and 2 more');
  });
});

describe('logs', () => {
  beforeEach(() => {
    api.mockReset();
    bytes.mockReset();
  });

  it('follows a running job and stops when it ends', async () => {
    let state = job('j1', { processed: 1 });
    let text = 'one\n';
    api.mockImplementation(router([['jobs/j1', () => state]]).impl);
    bytes.mockImplementation(async () => new TextEncoder().encode(text).buffer as ArrayBuffer);
    const m = new LogModel({ job: 'j1' });
    await m.refresh();
    expect(bytes).toHaveBeenLastCalledWith('jobs/j1/logs');
    expect(m.text).toBe('one\n');
    expect(m.following).toBe(true);
    expect(m.title).toBe('Log: predict j1');
    m.applyJob(job('other', { processed: 3 })); // another job: nothing
    await settle();
    expect(bytes).toHaveBeenCalledTimes(1);
    text = 'one\ntwo\n';
    state = job('j1', { processed: 2, state: 'success', done: true });
    m.applyJob(state);
    await settle();
    expect(m.text).toBe('one\ntwo\n');
    expect(m.following).toBe(false);
    m.applyJob(state); // no progress: no reload
    await settle();
    expect(bytes).toHaveBeenCalledTimes(2);
    const datum = new LogModel({ job: 'j1', datum: 'd123456789' });
    await datum.refresh();
    expect(bytes).toHaveBeenLastCalledWith('jobs/j1/datums/d123456789/log');
    expect(datum.title).toBe('Log: datum d1234567');
  });
});

describe('PipesModel events', () => {
  beforeEach(() => api.mockReset());

  it('tracks the cluster and tells tabs when a branch moves or a job progresses', async () => {
    api.mockImplementation(async () => ({ items: [], nodes: [], edges: [] }));
    const model = new PipesModel({ stream: new EventStream({ source: { stream: new Stream<object, Emission>({}) } }) });
    const moved: any[] = [];
    const jobs: any[] = [];
    model.branchMoved.connect((_, m) => moved.push(m));
    model.jobUpdated.connect((_, j) => jobs.push(j));
    expect(model.cluster).toBe('none');
    model.handleEvent({ type: 'cluster', state: 'starting' });
    expect(model.clusterStarting).toBe(true);
    model.handleEvent({ type: 'commit', repo: 'predict', branch: 'master', commit: 'c2', previous: 'c1' });
    expect(moved).toEqual([{ repo: 'predict', branch: 'master', commit: 'c2' }]);
    model.handleEvent({ type: 'job', ...job('j9') });
    expect(jobs.map(j => j.id)).toEqual(['j9']);
    expect('type' in jobs[0]).toBe(false);
    model.handleEvent({ type: 'cluster', state: 'ready' });
    expect(model.clusterStarting).toBe(false);
    model.dispose();
  });
});
