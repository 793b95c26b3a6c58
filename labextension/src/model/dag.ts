/**
 * The pipeline graph: repos and pipelines with their live state, its automatic layout (dagre),
 * and what a change to a branch re-runs downstream.
 */
import { Graph, layout } from '@dagrejs/dagre';
import { ISignal, Signal } from '@lumino/signaling';

import { requestAPI } from '../request';
import { Refresher } from './refresher';
import { IDag, IDagNode, IJob, JobState } from './types';

/**
 * The colour-coded state of a DAG node, a job or a pipeline: the one set of state names of the
 * sidebar, the `%pipe` widgets (`jupyter_pipes.magics.widgets.STATE_NAMES`) and the CSS palette
 * (`--jp-pipes-state-*`). `starting` is a running job whose Dask cluster is still starting.
 */
export type NodeState =
  | 'running'
  | 'starting'
  | 'queued'
  | 'success'
  | 'failure'
  | 'unrunnable'
  | 'idle';

/** Every state, in the legend's order. */
export const NODE_STATES: NodeState[] = [
  'starting',
  'running',
  'queued',
  'success',
  'failure',
  'unrunnable',
  'idle'
];

/** What each state means, for tooltips and screen readers. */
export const STATE_TITLES: Record<NodeState, string> = {
  starting: 'running: the Dask cluster is starting, no datum has run yet',
  running: 'running: datums are being processed',
  queued: 'queued: waiting for a controller or for upstream jobs',
  success: 'the newest job succeeded',
  failure: 'the newest job failed (or was stopped)',
  unrunnable: 'the newest job could not run: an upstream job failed',
  idle: 'never ran'
};

/** The display state of a pipeline's newest job (`idle` when it never ran; repos are idle). */
export function nodeState(node: IDagNode): NodeState {
  if (node.kind !== 'pipeline') {
    return 'idle';
  }
  return jobNodeState(node.state);
}

export function jobNodeState(state: JobState | null | undefined): NodeState {
  switch (state) {
    case 'running':
      return 'running';
    case 'created':
      return 'queued';
    case 'success':
      return 'success';
    case 'failure':
    case 'killed':
      return 'failure';
    case 'unrunnable':
      return 'unrunnable';
    default:
      return 'idle';
  }
}

/**
 * A job's display state: `starting` while it runs with no datum done and the cluster is
 * starting (the server's `cluster` event says so), else as {@link jobNodeState}.
 */
export function jobDisplayState(
  job: Pick<IJob, 'state' | 'processed' | 'failed'>,
  clusterStarting: boolean
): NodeState {
  if (job.state === 'running' && clusterStarting && job.processed + job.failed === 0) {
    return 'starting';
  }
  return jobNodeState(job.state);
}

/** A mark on an output repo whose content is not the result of its newest input. */
export interface IRepoMark {
  kind: 'failed' | 'stale' | 'updating';
  /** Short text of the badge. */
  label: string;
  /** The sentence of its tooltip. */
  title: string;
}

/**
 * Whether an output repo is current: `failed` when its pipeline's newest job failed (the repo
 * still holds an older job's output), `stale` when that job could not run (an upstream job
 * failed), `updating` while it is queued or running; `null` for a current or a user repo.
 */
export function repoMark(dag: IDag, repo: string): IRepoMark | null {
  const node = dag.nodes.find(n => n.id === `repo:${repo}`);
  if (!node || node.kind !== 'repo' || !node.output_of) {
    return null;
  }
  const pipeline = dag.nodes.find(n => n.id === node.output_of);
  if (!pipeline || pipeline.kind !== 'pipeline') {
    return null;
  }
  switch (jobNodeState(pipeline.state)) {
    case 'failure':
      return {
        kind: 'failed',
        label: 'last job failed',
        title: `The newest job of pipeline ${pipeline.name} failed: ${repo} still holds the output of an older job.`
      };
    case 'unrunnable':
      return {
        kind: 'stale',
        label: 'stale',
        title: `The newest job of pipeline ${pipeline.name} could not run (an upstream job failed): ${repo} holds the output of older inputs.`
      };
    case 'running':
    case 'queued':
      return {
        kind: 'updating',
        label: 'updating',
        title: `Pipeline ${pipeline.name} is computing a new version of ${repo}.`
      };
    default:
      return null;
  }
}

/** True for a pipeline's internal branch (`spec`, the snapshots of its spec and notebook). */
export function isInternalBranch(dag: IDag, repo: string, branch: string): boolean {
  if (branch !== 'spec') {
    return false;
  }
  const node = dag.nodes.find(n => n.id === `repo:${repo}`);
  return !!node && node.kind === 'repo' && !!node.output_of;
}

/**
 * The pipeline that owns `repo@branch` — a pipeline's output branch, or its repo's `spec`
 * branch — or `null` for a branch users commit to. The server refuses a user commit to an
 * owned branch (`OutputBranchWrite`, 409; a revert stays allowed): the sidebar offers no
 * upload or drop there.
 */
export function branchOwner(dag: IDag, repo: string, branch: string): string | null {
  const node = dag.nodes.find(n => n.id === `repo:${repo}`);
  if (!node || node.kind !== 'repo' || !node.output_of) {
    return null;
  }
  const pipeline = node.output_of;
  const name = pipeline.replace(/^pipeline:/, '');
  if (branch === 'spec') {
    return name;
  }
  const writes = dag.edges.some(e => e.from === pipeline && e.to === node.id && e.branch === branch);
  return writes ? name : null;
}

/**
 * The pipelines that re-run when `repo@branch` moves, transitively, nearest first: every
 * pipeline reading that branch, then every pipeline reading their output branches, and so on.
 */
export function downstreamPipelines(dag: IDag, repo: string, branch: string): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  let frontier: Array<{ node: string; branch: string }> = [{ node: `repo:${repo}`, branch }];
  while (frontier.length > 0) {
    const next: typeof frontier = [];
    for (const { node, branch: b } of frontier) {
      for (const edge of dag.edges) {
        if (edge.from !== node || edge.branch !== b || seen.has(edge.to)) {
          continue;
        }
        if (!edge.to.startsWith('pipeline:')) {
          continue;
        }
        seen.add(edge.to);
        found.push(edge.to.slice('pipeline:'.length));
        for (const out of dag.edges) {
          if (out.from === edge.to && out.to.startsWith('repo:')) {
            next.push({ node: out.to, branch: out.branch });
          }
        }
      }
    }
    frontier = next;
  }
  return found;
}

/**
 * The graph with each pipeline's output repo folded into the pipeline's node (for the narrow
 * sidebar): edges that left the output repo leave the pipeline.
 */
export function compactDag(dag: IDag): IDag {
  const folded = new Map<string, string>();
  for (const node of dag.nodes) {
    if (node.kind === 'repo' && node.output_of && dag.nodes.some(n => n.id === node.output_of)) {
      folded.set(node.id, node.output_of);
    }
  }
  const edges = dag.edges
    .filter(e => !(folded.get(e.to) === e.from))
    .map(e => (folded.has(e.from) ? { ...e, from: folded.get(e.from)! } : e));
  return { nodes: dag.nodes.filter(n => !folded.has(n.id)), edges };
}

export interface INodeBox {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export const NODE_WIDTH = 150;
export const NODE_HEIGHT = 44;
/** Narrower nodes for the sidebar. */
export const COMPACT_NODE_WIDTH = 112;

/** Top-left positions of every node, laid out by dagre (`TB`: top to bottom). */
export function layoutDag(
  dag: IDag,
  direction: 'TB' | 'LR' = 'TB',
  width: number = NODE_WIDTH
): INodeBox[] {
  const g = new Graph();
  const compact = width < NODE_WIDTH;
  g.setGraph({
    rankdir: direction,
    nodesep: compact ? 12 : 24,
    ranksep: compact ? 28 : 40,
    marginx: 4,
    marginy: 4
  });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of dag.nodes) {
    g.setNode(node.id, { width, height: NODE_HEIGHT });
  }
  for (const edge of dag.edges) {
    if (g.hasNode(edge.from) && g.hasNode(edge.to)) {
      g.setEdge(edge.from, edge.to);
    }
  }
  layout(g);
  return dag.nodes.map(node => {
    const n = g.node(node.id) as { x: number; y: number };
    return {
      id: node.id,
      x: n.x - width / 2,
      y: n.y - NODE_HEIGHT / 2,
      width,
      height: NODE_HEIGHT
    };
  });
}

export class DagModel {
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get dag(): IDag {
    return this._dag;
  }

  get loaded(): boolean {
    return this._loaded;
  }

  get error(): string | null {
    return this._error;
  }

  get pipelines(): string[] {
    return this._dag.nodes.filter(n => n.kind === 'pipeline').map(n => n.name);
  }

  node(id: string): IDagNode | undefined {
    return this._dag.nodes.find(n => n.id === id);
  }

  /** Reload the graph (coalesced: a burst of calls costs at most two requests). */
  refresh(): Promise<void> {
    return this._refresher.request();
  }

  /** What re-runs when `repo@branch` moves. */
  downstream(repo: string, branch: string): string[] {
    return downstreamPipelines(this._dag, repo, branch);
  }

  /**
   * A job's progress: its pipeline's node takes the job's state at once when it is the node's
   * newest job; a job the graph does not know yet (a new one) reloads the graph.
   */
  applyJob(job: IJob): void {
    const node = this.node(`pipeline:${job.pipeline}`);
    if (node && node.kind === 'pipeline' && node.last_job === job.id) {
      if (node.state !== job.state) {
        this._dag = {
          ...this._dag,
          nodes: this._dag.nodes.map(n => (n === node ? { ...node, state: job.state } : n))
        };
        this._changed.emit();
      }
      return;
    }
    void this.refresh();
  }

  private async _load(): Promise<void> {
    let changed = !this._loaded;
    try {
      const dag = await requestAPI<IDag>('dag');
      // the same graph again keeps its object, so views do not lay it out (and re-measure
      // every node) once per event
      if (JSON.stringify(dag) !== JSON.stringify(this._dag)) {
        this._dag = dag;
        changed = true;
      }
      changed = changed || this._error !== null;
      this._error = null;
    } catch (error) {
      this._error = `Could not load the DAG: ${(error as Error).message}`;
      changed = true;
    }
    this._loaded = true;
    if (changed) {
      this._changed.emit();
    }
  }

  private _dag: IDag = { nodes: [], edges: [] };
  private _loaded = false;
  private _error: string | null = null;
  private _refresher = new Refresher(() => this._load());
  private _changed = new Signal<this, void>(this);
}
