/**
 * The cluster panel's model: the Dask cluster the server's controller uses (`GET cluster`):
 * workers, their resources, warm kernels and memory, the datums in flight per job, and the
 * dashboard link.
 *
 * Cost: it asks the server only while someone looks (`watch(true)`: the panel is on screen and
 * the page visible). While the cluster runs it refreshes every {@link CLUSTER_POLL_MS}; while
 * none runs it does not poll at all: a cluster starts only for a job, and the server's events
 * (a job's progress, the `cluster` event) reach the model as `poke()`s, at most one refresh per
 * {@link MIN_GAP_MS}. The pokes come from whatever signals the caller passes (today the event
 * stream's, through the root model), so another event transport only changes what is passed.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { requestAPI } from '../request';

export type ClusterRunState = 'stopped' | 'starting' | 'running' | 'unreachable';

export interface IKernelInfo {
  kernel: string;
  busy: boolean;
  uses: number;
  memory: number | null;
}

export interface IJobLoad {
  job: string;
  running: number;
  queued: number;
}

export interface IClusterWorker {
  address: string;
  name: string;
  status: string;
  threads: number;
  memory_limit: number | null;
  memory: number | null;
  cpu: number | null;
  resources: Record<string, number>;
  /** Null when the worker did not report its kernels. */
  kernels: IKernelInfo[] | null;
  jobs: IJobLoad[];
  shared_process: boolean;
}

export interface IJobInFlight extends IJobLoad {
  pipeline: string | null;
  workers: string[];
}

export interface IDashboard {
  url: string;
  port: number;
  /** It listens on a loopback address of the server's machine. */
  loopback: boolean;
}

export interface ICluster {
  state: ClusterRunState;
  kind: 'local' | 'external';
  scheduler: string | null;
  planned_workers: number | null;
  workers: IClusterWorker[];
  jobs: IJobInFlight[];
  dashboard: IDashboard | null;
  no_dashboard: string | null;
  error: string | null;
  controller: boolean;
  idle_timeout_s: number | null;
  message: string;
}

/** Refresh period while a cluster runs (or starts) and the panel is watched. */
export const CLUSTER_POLL_MS = 2000;
/** Pokes closer together than this share one refresh. */
export const MIN_GAP_MS = 1000;

/** The dask-labextension command that opens its dashboard layout for a URL. */
export const DASK_LAYOUT_COMMAND = 'dask:populate-and-launch-layout';

/** How the dashboard link opens. */
export interface IDashboardLink {
  /** `lab`: inside JupyterLab (dask-labextension); `tab`: a new browser tab; `elsewhere`: only
   * from the server's machine (shown, not linked); `none`: no dashboard. */
  how: 'lab' | 'tab' | 'elsewhere' | 'none';
  url: string | null;
  note: string;
}

const LOOPBACK = /^(localhost|127(\.\d+){3}|\[?::1\]?)$/i;

/** Whether a host name is this machine's loopback. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host);
}

/**
 * How to open Dask's dashboard: inside JupyterLab when dask-labextension is installed (it
 * proxies the dashboard through the Jupyter server, so a loopback-only dashboard works from any
 * browser); else in a new tab — unless the dashboard listens on the server's loopback and this
 * page is not on that machine, where a link could only fail: then the address is shown.
 */
export function dashboardLink(
  cluster: ICluster | null,
  options: { daskLab: boolean; pageHost: string }
): IDashboardLink {
  const dash = cluster?.state === 'running' ? cluster.dashboard : null;
  if (!dash) {
    return { how: 'none', url: null, note: cluster?.no_dashboard ?? '' };
  }
  if (options.daskLab) {
    return { how: 'lab', url: dash.url, note: "Opens Dask's dashboard in JupyterLab (dask-labextension)" };
  }
  if (dash.loopback && !isLoopbackHost(options.pageHost)) {
    return {
      how: 'elsewhere',
      url: dash.url,
      note:
        'The local cluster listens on 127.0.0.1 of the server: open this address on the ' +
        'server’s machine, or install dask-labextension to see the dashboard here.'
    };
  }
  return { how: 'tab', url: dash.url, note: "Opens Dask's dashboard in a new browser tab" };
}

/** The URL dask-labextension wants: the dashboard's root, without `/status`. */
export function dashboardRoot(url: string): string {
  return url.replace(/\/status\/?$/, '/');
}

/** Datums in flight on the whole cluster. */
export function inFlight(cluster: ICluster | null): { running: number; queued: number } {
  const jobs = cluster?.jobs ?? [];
  return {
    running: jobs.reduce((n, j) => n + j.running, 0),
    queued: jobs.reduce((n, j) => n + j.queued, 0)
  };
}

/** A worker's warm kernels in words: "2 kernels: 1 busy, 1 idle · 14 uses". */
export function kernelSummary(kernels: IKernelInfo[] | null): string {
  if (kernels === null) {
    return 'kernels not reported';
  }
  if (kernels.length === 0) {
    return 'no warm kernel';
  }
  const busy = kernels.filter(k => k.busy).length;
  const uses = kernels.reduce((n, k) => n + k.uses, 0);
  const s = kernels.length === 1 ? '' : 's';
  return `${kernels.length} warm kernel${s}: ${busy} busy, ${kernels.length - busy} idle · ${uses} use${uses === 1 ? '' : 's'}`;
}

export interface IClusterModelOptions {
  /** Signals after which the cluster may have changed (events); each is a `poke()`. */
  pokes?: ISignal<unknown, unknown>[];
  /** Fetches the cluster (default: `GET cluster` through the request module). */
  fetch?: () => Promise<ICluster>;
}

export class ClusterModel {
  constructor(options: IClusterModelOptions = {}) {
    this._fetch = options.fetch ?? (() => requestAPI<ICluster>('cluster'));
    this._pokes = options.pokes ?? [];
    this._pokes.forEach(s => s.connect(this._onPoke, this));
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get cluster(): ICluster | null {
    return this._cluster;
  }

  get error(): string | null {
    return this._error;
  }

  get loaded(): boolean {
    return this._loaded;
  }

  get watching(): boolean {
    return this._watching;
  }

  /** Start (refresh now, then poll while a cluster runs) or stop asking the server. */
  watch(on: boolean): void {
    if (on === this._watching || this._disposed) {
      return;
    }
    this._watching = on;
    if (on) {
      void this.refresh();
    } else {
      this._clearTimer();
    }
  }

  /** Something happened that may change the cluster: refresh soon, if watched. */
  poke(): void {
    if (!this._watching || this._disposed || (this._timer !== null && this._timerIsPoke)) {
      return;
    }
    const wait = Math.max(0, this._last + MIN_GAP_MS - Date.now());
    if (this._inFlight) {
      this._again = true;
      return;
    }
    this._schedule(wait, true);
  }

  /** Ask the server now. */
  async refresh(): Promise<void> {
    if (this._inFlight) {
      this._again = true;
      return this._inFlight;
    }
    this._clearTimer();
    this._inFlight = this._load();
    try {
      await this._inFlight;
    } finally {
      this._inFlight = null;
    }
    if (this._disposed || !this._watching) {
      return;
    }
    if (this._again) {
      this._again = false;
      this._schedule(MIN_GAP_MS, true);
    } else if (this._cluster && (this._cluster.state === 'running' || this._cluster.state === 'starting')) {
      this._schedule(CLUSTER_POLL_MS, false);
    }
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._watching = false;
    this._clearTimer();
    this._pokes.forEach(s => s.disconnect(this._onPoke, this));
    Signal.clearData(this);
  }

  private _onPoke(): void {
    this.poke();
  }

  private async _load(): Promise<void> {
    let cluster = this._cluster;
    let error: string | null = null;
    try {
      cluster = await this._fetch();
    } catch (e) {
      error = `Could not read the cluster: ${(e as Error).message}`;
    }
    this._last = Date.now();
    const text = JSON.stringify([cluster, error]);
    const first = !this._loaded;
    this._loaded = true;
    if (first || text !== this._seen) {
      this._seen = text;
      this._cluster = cluster;
      this._error = error;
      if (!this._disposed) {
        this._changed.emit();
      }
    }
  }

  private _schedule(ms: number, poke: boolean): void {
    this._clearTimer();
    this._timerIsPoke = poke;
    this._timer = setTimeout(() => {
      this._timer = null;
      void this.refresh();
    }, ms);
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _fetch: () => Promise<ICluster>;
  private _pokes: ISignal<unknown, unknown>[];
  private _cluster: ICluster | null = null;
  private _error: string | null = null;
  private _loaded = false;
  private _seen = '';
  private _watching = false;
  private _disposed = false;
  private _last = 0;
  private _inFlight: Promise<void> | null = null;
  private _again = false;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _timerIsPoke = false;
  private _changed = new Signal<this, void>(this);
}
