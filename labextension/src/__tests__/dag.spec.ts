import { branchOwner, compactDag, DagModel, downstreamPipelines, jobNodeState, layoutDag, NODE_HEIGHT } from '../model/dag';
import { IDag } from '../model/types';
import { requestAPI } from '../request';
import { irisDag, job } from './helpers';

jest.mock('../request', () => ({ requestAPI: jest.fn() }));
const api = requestAPI as jest.MockedFunction<typeof requestAPI>;

describe('downstreamPipelines (what a revert re-runs)', () => {
  it('follows pipelines transitively through their output repos, nearest first', () => {
    const dag = irisDag();
    expect(downstreamPipelines(dag, 'training', 'master')).toEqual(['model', 'predict']);
    expect(downstreamPipelines(dag, 'model', 'master')).toEqual(['predict']);
    expect(downstreamPipelines(dag, 'samples', 'master')).toEqual(['predict']);
    expect(downstreamPipelines(dag, 'predict', 'master')).toEqual([]);
  });

  it('only counts pipelines reading the branch that moves', () => {
    const dag = irisDag();
    expect(downstreamPipelines(dag, 'model', 'spec')).toEqual([]);
    expect(downstreamPipelines(dag, 'training', 'dev')).toEqual([]);
    dag.edges.push({ from: 'repo:training', to: 'pipeline:audit', branch: 'dev' });
    dag.nodes.push({ id: 'pipeline:audit', kind: 'pipeline', name: 'audit', version: 1, state: null, last_job: null });
    expect(downstreamPipelines(dag, 'training', 'dev')).toEqual(['audit']);
  });

  it('lists a pipeline reached by two paths once, and follows output branches', () => {
    const dag: IDag = {
      nodes: [],
      edges: [
        { from: 'repo:raw', to: 'pipeline:a', branch: 'master' },
        { from: 'repo:raw', to: 'pipeline:b', branch: 'master' },
        { from: 'pipeline:a', to: 'repo:a', branch: 'out' },
        { from: 'pipeline:b', to: 'repo:b', branch: 'master' },
        { from: 'repo:a', to: 'pipeline:c', branch: 'out' },
        { from: 'repo:b', to: 'pipeline:c', branch: 'master' },
        { from: 'repo:a', to: 'pipeline:ignored', branch: 'master' }
      ]
    };
    expect(downstreamPipelines(dag, 'raw', 'master')).toEqual(['a', 'b', 'c']);
  });
});

describe('the DAG layout', () => {
  it('lays out every node, inputs above their pipelines', () => {
    const boxes = new Map(layoutDag(irisDag(), 'TB').map(b => [b.id, b]));
    expect(boxes.size).toBe(6);
    const y = (id: string) => boxes.get(id)!.y;
    expect(y('repo:training')).toBeLessThan(y('pipeline:model'));
    expect(y('pipeline:model')).toBeLessThan(y('repo:model'));
    expect(y('repo:model')).toBeLessThan(y('pipeline:predict'));
    expect(boxes.get('repo:training')!.height).toBe(NODE_HEIGHT);
  });

  it('folds output repos into their pipelines for the compact sidebar graph', () => {
    const compact = compactDag(irisDag());
    expect(compact.nodes.map(n => n.id).sort()).toEqual([
      'pipeline:model',
      'pipeline:predict',
      'repo:samples',
      'repo:training'
    ]);
    expect(compact.edges).toEqual([
      { from: 'repo:training', to: 'pipeline:model', branch: 'master' },
      { from: 'repo:samples', to: 'pipeline:predict', branch: 'master' },
      { from: 'pipeline:model', to: 'pipeline:predict', branch: 'master' }
    ]);
  });

  it('maps job states to node colours', () => {
    expect(['created', 'running', 'success', 'failure', 'killed', 'unrunnable', null].map(s => jobNodeState(s as any)))
      .toEqual(['queued', 'running', 'success', 'failure', 'failure', 'unrunnable', 'idle']);
  });
});

describe('DagModel', () => {
  beforeEach(() => api.mockReset());

  it('takes the state of the newest job at once, and reloads for a job it does not know', async () => {
    api.mockResolvedValue(irisDag() as any);
    const m = new DagModel();
    await m.refresh();
    expect(api).toHaveBeenCalledTimes(1);
    let emitted = 0;
    m.changed.connect(() => (emitted += 1));
    m.applyJob(job('j2', { state: 'failure' }));
    expect(m.node('pipeline:predict')).toMatchObject({ state: 'failure' });
    expect(emitted).toBe(1);
    expect(api).toHaveBeenCalledTimes(1);
    m.applyJob(job('j3', { state: 'created' })); // a new job: the graph reloads
    await m.refresh();
    expect(api.mock.calls.length).toBeGreaterThanOrEqual(2);
    expect(m.downstream('model', 'master')).toEqual(['predict']);
  });
});

describe('branchOwner', () => {
  it('names the pipeline that owns an output or spec branch, and no owner elsewhere', () => {
    const dag = irisDag();
    expect(branchOwner(dag, 'model', 'master')).toBe('model'); // its output branch
    expect(branchOwner(dag, 'predict', 'spec')).toBe('predict');
    expect(branchOwner(dag, 'model', 'try')).toBeNull(); // a user's branch of an output repo
    expect(branchOwner(dag, 'training', 'master')).toBeNull(); // a user repo
    expect(branchOwner(dag, 'nowhere', 'master')).toBeNull();
  });
});
