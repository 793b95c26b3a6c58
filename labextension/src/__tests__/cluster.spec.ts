import { Signal } from '@lumino/signaling';

import {
  CLUSTER_POLL_MS,
  ClusterModel,
  dashboardLink,
  dashboardRoot,
  ICluster,
  IClusterWorker,
  inFlight,
  isLoopbackHost,
  kernelSummary,
  MIN_GAP_MS
} from '../model/cluster';
import { requestAPI } from '../request';
import { router } from './helpers';

jest.mock('../request', () => ({ requestAPI: jest.fn(), requestBytes: jest.fn() }));
const api = requestAPI as jest.MockedFunction<typeof requestAPI>;

function worker(extra: Partial<IClusterWorker> = {}): IClusterWorker {
  return {
    address: 'tcp://127.0.0.1:40001',
    name: '0',
    status: 'running',
    threads: 1,
    memory_limit: 4 * 2 ** 30,
    memory: 100 * 2 ** 20,
    cpu: 2,
    resources: {},
    kernels: [],
    jobs: [],
    shared_process: false,
    ...extra
  };
}

function stopped(extra: Partial<ICluster> = {}): ICluster {
  return {
    state: 'stopped',
    kind: 'local',
    scheduler: null,
    planned_workers: 2,
    workers: [],
    jobs: [],
    dashboard: null,
    no_dashboard: null,
    error: null,
    controller: true,
    idle_timeout_s: 120,
    message: 'No Dask cluster is running (it starts on demand): a local cluster of 2 workers starts when the next job runs.',
    ...extra
  };
}

function running(extra: Partial<ICluster> = {}): ICluster {
  return stopped({
    state: 'running',
    scheduler: 'tcp://127.0.0.1:40000',
    workers: [
      worker({ jobs: [{ job: 'j1', running: 1, queued: 2 }] }),
      worker({ name: '1', address: 'tcp://127.0.0.1:40002', resources: { GPU: 1 } })
    ],
    jobs: [{ job: 'j1', pipeline: 'predict', running: 1, queued: 2, workers: ['tcp://127.0.0.1:40001'] }],
    dashboard: { url: 'http://127.0.0.1:8787/status', port: 8787, loopback: true },
    message: 'A local Dask cluster is running: 2 workers, 2 threads.',
    ...extra
  });
}

describe('ClusterModel', () => {
  beforeEach(() => {
    api.mockReset();
    jest.useFakeTimers();
  });
  afterEach(() => jest.useRealTimers());

  it('asks nothing until watched, and does not poll while no cluster runs', async () => {
    api.mockImplementation(router([['cluster', stopped()]]).impl);
    const m = new ClusterModel();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(api).not.toHaveBeenCalled();
    m.watch(true);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(api).toHaveBeenCalledTimes(1); // once: a stopped cluster starts only with a job
    expect(m.cluster?.state).toBe('stopped');
    expect(m.cluster?.message).toContain('starts when the next job runs');
    m.dispose();
  });

  it('polls while a cluster runs and it is watched, and stops when no one looks', async () => {
    api.mockImplementation(router([['cluster', running()]]).impl);
    const m = new ClusterModel();
    m.watch(true);
    await jest.advanceTimersByTimeAsync(CLUSTER_POLL_MS * 3 + 10);
    expect(api).toHaveBeenCalledTimes(4); // at once, then every period
    m.watch(false);
    await jest.advanceTimersByTimeAsync(CLUSTER_POLL_MS * 10);
    expect(api).toHaveBeenCalledTimes(4);
    m.watch(true); // looked at again: fresh at once
    await jest.advanceTimersByTimeAsync(0);
    expect(api).toHaveBeenCalledTimes(5);
    m.dispose();
    await jest.advanceTimersByTimeAsync(CLUSTER_POLL_MS * 10);
    expect(api).toHaveBeenCalledTimes(5);
  });

  it('refreshes once after a burst of events, and only while watched', async () => {
    let answer = stopped();
    api.mockImplementation(router([['cluster', () => answer]]).impl);
    const events = new Signal<object, unknown>({});
    const m = new ClusterModel({ pokes: [events] });
    events.emit('job'); // nobody looks: nothing
    await jest.advanceTimersByTimeAsync(MIN_GAP_MS * 5);
    expect(api).not.toHaveBeenCalled();
    m.watch(true);
    await jest.advanceTimersByTimeAsync(0);
    expect(api).toHaveBeenCalledTimes(1);
    answer = running(); // a job started the cluster; its events arrive in a burst
    for (let i = 0; i < 20; i++) {
      events.emit('job');
    }
    await jest.advanceTimersByTimeAsync(MIN_GAP_MS + 10);
    expect(api).toHaveBeenCalledTimes(2);
    expect(m.cluster?.state).toBe('running');
    m.dispose();
    events.emit('job');
    await jest.advanceTimersByTimeAsync(MIN_GAP_MS * 5);
    expect(api).toHaveBeenCalledTimes(2);
  });

  it('signals a change only when the answer changed, and keeps an error', async () => {
    const answers: unknown[] = [running(), running(), running({ jobs: [] }), new Error('HTTP 500')];
    api.mockImplementation(router([['cluster', () => answers.shift()]]).impl);
    const m = new ClusterModel();
    let changes = 0;
    m.changed.connect(() => changes++);
    await m.refresh();
    await m.refresh();
    expect(changes).toBe(1);
    await m.refresh();
    expect(changes).toBe(2);
    expect(inFlight(m.cluster)).toEqual({ running: 0, queued: 0 });
    await m.refresh();
    expect(m.error).toBe('Could not read the cluster: HTTP 500');
    expect(m.cluster?.state).toBe('running'); // the last good answer stays shown
    m.dispose();
  });
});

describe('the dashboard link', () => {
  it('opens inside JupyterLab when dask-labextension is there', () => {
    const link = dashboardLink(running(), { daskLab: true, pageHost: 'lab.example.org' });
    expect(link.how).toBe('lab');
    expect(dashboardRoot(link.url!)).toBe('http://127.0.0.1:8787/');
  });

  it('opens a loopback dashboard in a tab only from the server’s machine', () => {
    expect(dashboardLink(running(), { daskLab: false, pageHost: 'localhost' }).how).toBe('tab');
    expect(dashboardLink(running(), { daskLab: false, pageHost: '127.0.0.1' }).how).toBe('tab');
    const remote = dashboardLink(running(), { daskLab: false, pageHost: 'lab.example.org' });
    expect(remote.how).toBe('elsewhere');
    expect(remote.note).toContain('127.0.0.1');
  });

  it('links an external scheduler’s dashboard from anywhere', () => {
    const external = running({
      kind: 'external',
      dashboard: { url: 'http://10.0.0.5:8787/status', port: 8787, loopback: false }
    });
    const link = dashboardLink(external, { daskLab: false, pageHost: 'lab.example.org' });
    expect(link).toMatchObject({ how: 'tab', url: 'http://10.0.0.5:8787/status' });
  });

  it('says why there is none', () => {
    const none = running({ dashboard: null, no_dashboard: "Dask's dashboard needs bokeh" });
    expect(dashboardLink(none, { daskLab: true, pageHost: 'localhost' })).toEqual({
      how: 'none',
      url: null,
      note: "Dask's dashboard needs bokeh"
    });
    expect(dashboardLink(stopped(), { daskLab: true, pageHost: 'localhost' }).how).toBe('none');
  });

  it('knows loopback hosts', () => {
    expect(['localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]'].every(isLoopbackHost)).toBe(true);
    expect(['lab.example.org', '10.0.0.5', '0.0.0.0'].some(isLoopbackHost)).toBe(false);
  });
});

describe('summaries', () => {
  it('puts a worker’s kernels in words', () => {
    expect(kernelSummary(null)).toBe('kernels not reported');
    expect(kernelSummary([])).toBe('no warm kernel');
    expect(
      kernelSummary([
        { kernel: 'python3', busy: true, uses: 3, memory: 1 },
        { kernel: 'python3', busy: false, uses: 11, memory: 1 }
      ])
    ).toBe('2 warm kernels: 1 busy, 1 idle · 14 uses');
  });

  it('counts the datums in flight', () => {
    expect(inFlight(running())).toEqual({ running: 1, queued: 2 });
    expect(inFlight(null)).toEqual({ running: 0, queued: 0 });
  });
});
