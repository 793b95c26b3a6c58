/**
 * The pipeline DAG, laid out by dagre and drawn by React Flow: repos and pipelines coloured by
 * live state. Selecting a repo shows its history; selecting a pipeline shows its jobs. In the
 * sidebar the graph is compact (output repos folded into their pipelines) and fits the panel.
 */
import {
  Edge,
  Handle,
  MarkerType,
  Node,
  NodeProps,
  Position,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow
} from '@xyflow/react';
import React, { useEffect, useMemo, useRef } from 'react';

import {
  COMPACT_NODE_WIDTH,
  compactDag,
  IDag,
  IDagNode,
  IRepoMark,
  layoutDag,
  NODE_HEIGHT,
  NODE_STATES,
  NODE_WIDTH,
  nodeState,
  NodeState,
  repoMark,
  STATE_TITLES
} from '../model';
import { Empty, ErrorMessage, RepoMarkBadge, StateBadge } from './bits';
import { usePipes, useSignals } from './context';

type PipesNodeData = {
  node: IDagNode;
  state: NodeState;
  mark: IRepoMark | null;
  selected: boolean;
  vertical: boolean;
  width: number;
};
type PipesFlowNode = Node<PipesNodeData, 'pipes'>;

function PipesNode({ data }: NodeProps<PipesFlowNode>): JSX.Element {
  const { node, state, mark } = data;
  const kind = node.kind === 'pipeline' ? 'pipeline' : 'repo';
  const shown = state === 'starting' ? 'starting cluster' : state;
  const label = `${kind} ${node.name}: ${mark ? mark.label : shown}`;
  return (
    <div
      className={`jp-Pipes-dagNode jp-Pipes-dagNode-${kind}${kind === 'pipeline' ? ` jp-Pipes-state-${state}` : ''}${mark ? ` jp-Pipes-mark-${mark.kind}` : ''}${data.selected ? ' jp-mod-selected' : ''}`}
      style={{ width: data.width }}
      data-node={node.id}
      data-state={state}
      data-mark={mark?.kind ?? ''}
      title={mark ? mark.title : node.kind === 'pipeline' ? STATE_TITLES[state] : undefined}
    >
      <Handle type="target" position={data.vertical ? Position.Top : Position.Left} />
      {/* a click (or Enter / Space) bubbles to React Flow's onNodeClick, which selects */}
      <button
        className="jp-Pipes-dagNodeButton"
        aria-label={label}
        aria-pressed={data.selected}
        title={node.kind === 'pipeline' ? `Show the jobs of ${node.name}` : `Show the history of ${node.name}`}
      >
        <span className="jp-Pipes-dagNodeName">{node.name}</span>
        <span className="jp-Pipes-dagNodeKind">
          {kind}
          {node.kind === 'pipeline' ? ` · ${shown}` : mark ? ` · ${mark.label}` : ''}
        </span>
      </button>
      <Handle type="source" position={data.vertical ? Position.Bottom : Position.Right} />
    </div>
  );
}

const nodeTypes = { pipes: PipesNode };

/** Fit the graph again whenever the nodes or the panel's size change. */
function useFitView(container: React.RefObject<HTMLDivElement>, key: string): void {
  const flow = useReactFlow();
  useEffect(() => {
    const fit = () => void flow.fitView({ padding: 0.1, maxZoom: 1.5 });
    const t = setTimeout(fit, 0);
    const observer = new ResizeObserver(() => fit());
    if (container.current) {
      observer.observe(container.current);
    }
    return () => {
      clearTimeout(t);
      observer.disconnect();
    };
  }, [flow, key]);
}

/** A node's display state: a running pipeline waits for the cluster while it starts. */
function displayState(node: IDagNode, clusterStarting: boolean): NodeState {
  const state = nodeState(node);
  return state === 'running' && clusterStarting ? 'starting' : state;
}

function marks(dag: IDag, shown: IDag): Map<string, IRepoMark | null> {
  return new Map(shown.nodes.map(n => [n.id, n.kind === 'repo' ? repoMark(dag, n.name) : null]));
}

function Flow({ compact }: { compact: boolean }): JSX.Element {
  const { model } = usePipes();
  const container = useRef<HTMLDivElement>(null);
  const dag = model.dag.dag;
  const selectedPipeline = model.jobs.pipeline;
  const selectedRepo = model.history.repo;
  const starting = model.clusterStarting;
  const vertical = true; // top to bottom: DAGs are deeper than wide, and so are sidebars
  const { nodes, edges, key } = useMemo(() => {
    const shown = compact ? compactDag(dag) : dag;
    const width = compact ? COMPACT_NODE_WIDTH : NODE_WIDTH;
    const boxes = new Map(layoutDag(shown, vertical ? 'TB' : 'LR', width).map(b => [b.id, b]));
    const states = new Map(shown.nodes.map(n => [n.id, displayState(n, starting)]));
    const repoMarks = marks(dag, shown);
    const nodes: PipesFlowNode[] = shown.nodes.map(n => ({
      id: n.id,
      type: 'pipes',
      position: { x: boxes.get(n.id)!.x, y: boxes.get(n.id)!.y },
      data: {
        node: n,
        state: states.get(n.id)!,
        mark: repoMarks.get(n.id) ?? null,
        selected:
          n.kind === 'pipeline' ? n.name === selectedPipeline : n.name === selectedRepo,
        vertical,
        width
      },
      // the size is known: React Flow need not measure a node before it shows it (a node it
      // has to measure stays hidden until a resize, and new node objects come with each event)
      width,
      height: NODE_HEIGHT,
      measured: { width, height: NODE_HEIGHT },
      draggable: false,
      connectable: false,
      selectable: false
    }));
    const edges: Edge[] = shown.edges.map(e => {
      const running = ['running', 'starting', 'queued'].includes(states.get(e.to) ?? '');
      return {
        id: `${e.from}->${e.to}`,
        source: e.from,
        target: e.to,
        label: e.branch !== 'master' ? e.branch : undefined,
        animated: running,
        markerEnd: { type: MarkerType.ArrowClosed },
        className: running ? 'jp-mod-running' : undefined
      };
    });
    return { nodes, edges, key: shown.nodes.map(n => n.id).join(',') };
  }, [dag, compact, selectedPipeline, selectedRepo, starting]);
  useFitView(container, key);
  const onNodeClick = (_: React.MouseEvent, flowNode: PipesFlowNode) => {
    const node = flowNode.data.node;
    void (node.kind === 'pipeline' ? model.selectPipeline(node.name) : model.selectBranch(node.name));
  };
  return (
    <div className="jp-Pipes-dagCanvas" ref={container}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodeClick={onNodeClick}
        fitView
        fitViewOptions={{ padding: 0.1, maxZoom: 1.5 }}
        minZoom={0.2}
        maxZoom={2}
        nodesDraggable={false}
        nodesConnectable={false}
        nodesFocusable={false}
        edgesFocusable={false}
        elementsSelectable={false}
        zoomOnScroll={!compact}
        panOnScroll={false}
        preventScrolling={!compact}
        proOptions={{ hideAttribution: false }}
        attributionPosition="bottom-right"
      />
    </div>
  );
}


export function DagView({ compact }: { compact: boolean }): JSX.Element {
  const { model } = usePipes();
  useSignals(model.dag.changed, model.jobs.changed, model.history.changed, model.changed);
  const dag = model.dag;
  if (!dag.loaded) {
    return <Empty>Loading…</Empty>;
  }
  if (dag.dag.nodes.length === 0) {
    return (
      <>
        <ErrorMessage message={dag.error} />
        <Empty>
          No repos or pipelines yet. Run <code>jupyter pipes demo</code> in a terminal to build
          a train → predict DAG, or create a pipeline with <code>%%pipe</code> in a notebook.
        </Empty>
      </>
    );
  }
  const pipelines = dag.dag.nodes.filter(n => n.kind === 'pipeline');
  return (
    <div className={`jp-Pipes-dag${compact ? ' jp-mod-compact' : ''}`}>
      <ErrorMessage message={dag.error} />
      <ReactFlowProvider>
        <Flow compact={compact} />
      </ReactFlowProvider>
      <div className="jp-Pipes-legend" aria-hidden="true">
        {NODE_STATES.map(s => (
          <StateBadge key={s} state={s} />
        ))}
      </div>
      {/* the same graph as a list, for screen readers and keyboard users */}
      <ul className="jp-Pipes-list jp-Pipes-pipelineList" aria-label="Pipelines and their state">
        {pipelines.map(p => (
          <li key={p.id} data-pipeline={p.name} data-state={displayState(p, model.clusterStarting)}>
            <button
              className="jp-Pipes-link"
              onClick={() => void model.selectPipeline(p.name)}
              aria-pressed={model.jobs.pipeline === p.name}
            >
              {p.name}
            </button>{' '}
            <StateBadge state={displayState(p, model.clusterStarting)} />
            <RepoMarkBadge mark={repoMark(dag.dag, p.name)} />
          </li>
        ))}
      </ul>
    </div>
  );
}
