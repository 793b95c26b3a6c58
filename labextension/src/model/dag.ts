/**
 * The pipeline graph: repos and pipelines with their live state, its automatic layout (dagre),
 * and what a change to a branch re-runs downstream.
 */
import { Graph, layout } from '@dagrejs/dagre';
import { ISignal, Signal } from '@lumino/signaling';

import { requestAPI } from '../request';
import { Refresher } from './refresher';
import { IDag, IDagNode, IJob, JobState } from './types';

/** The colour-coded state of a DAG node. */
export type NodeState = 'running' | 'queued' | 'success' | 'failure' | 'unrunnable' | 'idle';

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
    try {
      this._dag = await requestAPI<IDag>('dag');
      this._error = null;
    } catch (error) {
      this._error = `Could not load the DAG: ${(error as Error).message}`;
    }
    this._loaded = true;
    this._changed.emit();
  }

  private _dag: IDag = { nodes: [], edges: [] };
  private _loaded = false;
  private _error: string | null = null;
  private _refresher = new Refresher(() => this._load());
  private _changed = new Signal<this, void>(this);
}
