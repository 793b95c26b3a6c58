/**
 * The sidebar's root model: the version handshake, the live event stream, and the part models
 * (repos, history, DAG, jobs) it refreshes when events say something changed. It also plans and
 * performs a model revert. Components only render these models and call their methods.
 */
import { EventManager } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { requestAPI } from '../request';
import { apiPath } from '../url';
import { DagModel } from './dag';
import { EventStream, IEventSource, StreamState } from './events';
import { HistoryModel } from './history';
import { JobsModel } from './jobs';
import { defaultBranch, ReposModel } from './repos';
import { ClusterState, ICommit, IJob, IPipesEvent, ISettings } from './types';

declare const require: (id: string) => { version: string };

/**
 * The frontend's version, bundled from package.json (the one place the version is written; the
 * Python package takes it from there too). The server's `/pipes/api/settings` `version` must
 * match it.
 */
export const FRONTEND_VERSION: string = require('../../package.json').version;

/** What a revert will do, shown before it is done. */
export interface IRevertPlan {
  repo: string;
  /** The branch that moves. */
  branch: string;
  /** The commit whose files the new commit restores. */
  to: ICommit;
  /** The pipelines that will re-run, upstream first (the server's answer). */
  pipelines: string[];
  /** The jobs `to` caused when it was made (what those pipelines computed from it then). */
  jobs: IJob[];
}

/** `GET .../downstream`: what re-runs when a branch moves (to a commit). */
export interface IDownstream {
  repo: string;
  branch: string | null;
  commit: string | null;
  global_id: string | null;
  pipelines: string[];
  jobs: IJob[];
}

export interface IPipesModelOptions {
  /** JupyterLab's event manager (`app.serviceManager.events`; default: a new one). */
  events?: IEventSource;
  /** The event stream (default: one on `events`); tests pass their own. */
  stream?: EventStream;
}

export class PipesModel implements IDisposable {
  readonly repos = new ReposModel();
  readonly history = new HistoryModel();
  readonly dag = new DagModel();
  readonly jobs = new JobsModel();
  readonly stream: EventStream;

  constructor(options: IPipesModelOptions = {}) {
    this.stream =
      options.stream ?? new EventStream({ source: options.events ?? new EventManager() });
    this.stream.received.connect((_, event) => this.handleEvent(event));
    this.stream.missed.connect(() => void this.refresh()); // events were lost: reload all
    this.stream.stateChanged.connect(() => this._changed.emit());
  }

  /** The handshake and connection state changed (part models have their own signals). */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Every job event (log tabs follow their job with it). */
  get jobUpdated(): ISignal<this, IJob> {
    return this._jobUpdated;
  }

  /** A branch moved: `repo@branch` has a new head (open `pipes:` tabs follow it). */
  get branchMoved(): ISignal<this, { repo: string; branch: string; commit: string | null }> {
    return this._branchMoved;
  }

  /** The state of the controller's Dask cluster. */
  get cluster(): ClusterState {
    return this._cluster;
  }

  /** True while the cluster starts: a running job with no datum done shows `starting`. */
  get clusterStarting(): boolean {
    return this._cluster === 'starting';
  }

  get settings(): ISettings | null {
    return this._settings;
  }

  /** A message for the user when something is wrong (version mismatch, server unreachable). */
  get error(): string | null {
    return this._error;
  }

  /** True once the first handshake answered (well or not). */
  get loaded(): boolean {
    return this._loaded;
  }

  get connection(): StreamState {
    return this.stream.state;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Check the server's version, then (re)load everything and start listening to events. */
  async refresh(): Promise<void> {
    try {
      const settings = await requestAPI<ISettings>('settings');
      this._settings = settings;
      this._setCluster(settings.cluster ?? 'none');
      if (settings.version !== FRONTEND_VERSION) {
        this._error =
          `The jupyter_pipes server extension is version ${settings.version} but this ` +
          `sidebar is version ${FRONTEND_VERSION}: reinstall jupyter_pipes ` +
          '(pip install -U jupyter_pipes) and restart JupyterLab.';
      } else {
        this._error = null;
      }
    } catch (error) {
      this._error = `Could not reach the jupyter_pipes server extension: ${
        (error as Error).message
      }. Is jupyter_pipes installed in the environment that runs JupyterLab? ` +
        '(jupyter server extension list)';
    }
    this._loaded = true;
    this._changed.emit();
    if (this._error) {
      return;
    }
    void this.stream.start();
    await Promise.all([
      this.repos.refresh(),
      this.dag.refresh(),
      this.history.repo ? this.history.refresh() : this._openFirstRepo(),
      this.jobs.refresh()
    ]);
  }

  /** Show the history of `repo@branch` (default: the repo's default branch). */
  async selectBranch(repo: string, branch?: string): Promise<void> {
    const info = this.repos.repo(repo);
    await this.history.show(repo, branch ?? (info ? defaultBranch(info) : 'master'));
  }

  /** Show a commit (a provenance link): its repo's history on its branch, and its detail. */
  async openCommit(repo: string, id: string): Promise<void> {
    let branch: string | null = null;
    try {
      const commit = await requestAPI<ICommit>(apiPath('repos', repo, 'commits', id));
      branch = commit.branch;
      id = commit.id;
    } catch {
      // select() below reports it
    }
    if (repo !== this.history.repo || (branch && branch !== this.history.branch)) {
      await this.selectBranch(repo, branch ?? undefined);
    }
    await this.history.select(repo, id);
  }

  /** A commit, from what is loaded or from the server. */
  async commit(repo: string, id: string): Promise<ICommit> {
    const known =
      this.history.commits.find(c => c.repo === repo && c.id === id) ??
      (this.history.selection?.commit.id === id ? this.history.selection.commit : undefined);
    return known ?? requestAPI<ICommit>(apiPath('repos', repo, 'commits', id));
  }

  /** Show a pipeline's jobs. */
  async selectPipeline(pipeline: string | null): Promise<void> {
    await this.jobs.show(pipeline);
  }

  /**
   * What reverting `repo@branch` to `to` will do, as the server answers it
   * (`GET .../commits/{to}/downstream`, or `.../branches/{branch}/downstream` for another
   * branch than `to`'s): the branch that moves, every pipeline downstream of it
   * (transitively) that will re-run, and the jobs `to` caused when it was made.
   */
  async planRevert(to: ICommit, branch?: string): Promise<IRevertPlan> {
    const target = branch ?? to.branch ?? this.history.branch ?? 'master';
    const own = !to.branch || to.branch === target;
    const info = await requestAPI<IDownstream>(
      own
        ? apiPath('repos', to.repo, 'commits', to.id, 'downstream')
        : apiPath('repos', to.repo, 'branches', target, 'downstream')
    );
    return { repo: to.repo, branch: target, to, pipelines: info.pipelines, jobs: own ? info.jobs : [] };
  }

  /** Do a planned revert: a new commit on the branch, restoring `to`'s files. */
  async revert(plan: IRevertPlan, message?: string): Promise<ICommit> {
    const commit = await requestAPI<ICommit>(
      apiPath('repos', plan.repo, 'branches', plan.branch, 'revert'),
      {
        method: 'POST',
        body: JSON.stringify(message ? { to: plan.to.id, message } : { to: plan.to.id })
      }
    );
    // events bring the rest; refresh what the user is looking at at once
    await Promise.all([
      this.history.repo === plan.repo && this.history.branch === plan.branch
        ? this.history.refresh()
        : Promise.resolve(),
      this.repos.refresh()
    ]);
    return commit;
  }

  /** Route one server event to the models it concerns. */
  handleEvent(event: IPipesEvent): void {
    switch (event.type) {
      case 'repo':
      case 'branch':
        void this.repos.refresh();
        void this.dag.refresh();
        if (event.action === 'deleted' && event.repo === this.history.repo) {
          if (event.type === 'repo' || event.branch === this.history.branch) {
            void this.history.show(null);
          }
        }
        break;
      case 'commit':
        this._branchMoved.emit({ repo: event.repo, branch: event.branch, commit: event.commit });
        void this.repos.refresh();
        void this.dag.refresh();
        if (event.repo === this.history.repo && event.branch === this.history.branch) {
          void this.history.refresh();
        }
        break;
      case 'pipeline':
        void this.dag.refresh();
        void this.repos.refresh();
        if (event.pipeline === this.jobs.pipeline) {
          void (event.action === 'deleted' ? this.jobs.show(null) : this.jobs.refresh());
        }
        break;
      case 'job': {
        const { type: _, ...job } = event;
        this.dag.applyJob(job);
        this.jobs.applyJob(job);
        this._jobUpdated.emit(job);
        break;
      }
      case 'cluster':
        this._setCluster(event.state);
        break;
      default:
        break;
    }
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this.stream.dispose();
    Signal.clearData(this);
  }

  private async _openFirstRepo(): Promise<void> {
    await this.repos.refresh();
    const first = this.repos.repos[0];
    if (first && !this.history.repo) {
      await this.selectBranch(first.name);
    }
  }

  private _setCluster(state: ClusterState): void {
    if (state !== this._cluster) {
      this._cluster = state;
      this._changed.emit();
      this.jobs.touch(); // a running job's display state changes with it
    }
  }

  private _cluster: ClusterState = 'none';
  private _jobUpdated = new Signal<this, IJob>(this);
  private _branchMoved = new Signal<this, { repo: string; branch: string; commit: string | null }>(
    this
  );
  private _settings: ISettings | null = null;
  private _error: string | null = null;
  private _loaded = false;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
}
