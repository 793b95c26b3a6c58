/**
 * Metrics across a branch's history: a table of each commit's numbers and a small plot of one
 * metric over the commits (oldest on the left). The sidebar shows it under a pipeline output's
 * history; the revert dialog shows the target's metrics next to the head's.
 */
import React, { useEffect, useState } from 'react';

import { CommandIDs } from '../commandIds';
import { shortId } from '../format';
import { Empty, ErrorMessage } from '../components/bits';
import { run, usePipes, useSignals } from '../components/context';
import {
  fetchCommitMetrics,
  fetchMetrics,
  fetchMetricsDiff,
  IMetricChange,
  IMetrics,
  IMetricsDiff
} from './api';
import { CommitLink } from './links';
import { Loader } from './loader';
import { formatMetric, metricNames, plotPath, plotPoints } from './tree';

export function MetricsPlot(props: { metrics: IMetrics[]; name: string; width?: number; height?: number }): JSX.Element {
  const width = props.width ?? 240;
  const height = props.height ?? 60;
  const points = plotPoints(props.metrics, props.name, width, height);
  return (
    <svg
      className="jp-PipesMetrics-plot"
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
      role="img"
      aria-label={`${props.name} over the branch's history`}
    >
      <path d={plotPath(points)} className="jp-PipesMetrics-line" />
      {points.map(p => (
        <circle key={p.commit} cx={p.x} cy={p.y} r={3} className="jp-PipesMetrics-point" data-commit={p.commit}>
          <title>{`${shortId(p.commit)}: ${props.name} = ${formatMetric(p.value)}`}</title>
        </circle>
      ))}
    </svg>
  );
}

/** "why?": explain a commit against the one before it in the list (the metrics and the lineage). */
function WhyButton(props: { repo: string; older: string; newer: string }): JSX.Element {
  const { commands } = usePipes();
  return (
    <button
      className="jp-Pipes-link jp-PipesMetrics-why"
      title={`Why did the metrics change from ${shortId(props.older)} to ${shortId(props.newer)}?`}
      aria-label={`Why did the metrics of ${shortId(props.newer)} change?`}
      onClick={() =>
        run(commands, CommandIDs.explainVersions, {
          old: `${props.repo}@${props.older}`,
          new: `${props.repo}@${props.newer}`
        })
      }
    >
      why?
    </button>
  );
}

export function MetricsTable(props: { repo: string; metrics: IMetrics[]; limit?: number; why?: boolean }): JSX.Element {
  const names = metricNames(props.metrics);
  const rows = props.metrics.slice(0, props.limit ?? props.metrics.length);
  const older = (i: number): IMetrics | undefined => (props.why === false ? undefined : props.metrics[i + 1]);
  return (
    <table className="jp-PipesMetrics-table" aria-label={`Metrics of ${props.repo}`}>
      <thead>
        <tr>
          <th>commit</th>
          {names.map(n => (
            <th key={n}>{n}</th>
          ))}
          {props.why === false ? null : <th />}
        </tr>
      </thead>
      <tbody>
        {rows.map((m, i) => (
          <tr key={m.commit} data-commit={m.commit}>
            <td>
              <CommitLink repo={props.repo} id={m.commit} />
              {m.source && m.source !== m.commit ? (
                <span className="jp-Pipes-muted" title={`A revert: the metrics of ${m.source}`}>
                  {' '}
                  = {shortId(m.source)}
                </span>
              ) : null}
            </td>
            {names.map(n => (
              <td key={n} className="jp-Pipes-mono">
                {formatMetric(m.values[n])}
              </td>
            ))}
            {props.why === false ? null : (
              <td>{older(i) ? <WhyButton repo={props.repo} older={older(i)!.commit} newer={m.commit} /> : null}</td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The metrics of a branch: a choice of metric, its plot, and the table. */
export function MetricsView(props: { repo: string; branch: string; loader: Loader<IMetrics[]>; compact?: boolean }): JSX.Element | null {
  useSignals(props.loader.changed);
  const metrics = props.loader.data;
  const names = metrics ? metricNames(metrics) : [];
  const [chosen, setChosen] = useState<string | null>(null);
  // plot the chosen metric, else the first one that changes over the history
  const varies = (n: string): boolean => new Set((metrics ?? []).map(m => m.values[n])).size > 1;
  const name = chosen && names.includes(chosen) ? chosen : (names.find(varies) ?? names[0] ?? null);
  if (props.compact && (!metrics || !names.length)) {
    return null; // nothing to show in the sidebar: no metric files declared, or none yet
  }
  return (
    <div className={`jp-PipesMetrics${props.compact ? ' jp-mod-compact' : ''}`} aria-label={`Metrics of ${props.repo}@${props.branch}`}>
      <ErrorMessage message={props.loader.error} />
      {!metrics ? (
        <Empty>Loading metrics…</Empty>
      ) : !names.length ? (
        <Empty>
          No metrics: declare metric files in the pipeline’s spec (<code>metrics: [/metrics.json]</code>).
        </Empty>
      ) : (
        <>
          <div className="jp-PipesMetrics-head">
            <select
              className="jp-Pipes-filterSelect"
              aria-label="Metric to plot"
              value={name ?? ''}
              onChange={e => setChosen(e.target.value)}
            >
              {names.map(n => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
            {name ? <MetricsPlot metrics={metrics} name={name} width={props.compact ? 200 : 480} height={props.compact ? 48 : 120} /> : null}
          </div>
          <MetricsTable repo={props.repo} metrics={metrics} limit={props.compact ? 8 : undefined} why={!props.compact} />
        </>
      )}
    </div>
  );
}

/** The sidebar's metrics of the shown branch, when it is a pipeline's output with metrics. */
export function BranchMetrics(): JSX.Element | null {
  const { model } = usePipes();
  useSignals(model.history.changed, model.dag.changed);
  const repo = model.history.repo;
  const branch = model.history.branch;
  const node = repo ? model.dag.node(`repo:${repo}`) : null;
  const isOutput = !!node && node.kind === 'repo' && !!node.output_of;
  const head = model.history.commits[0]?.id ?? null;
  const key = repo && branch && isOutput && branch !== 'spec' ? `${repo}@${branch}@${head}` : null;
  const [loader, setLoader] = useState<Loader<IMetrics[]> | null>(null);
  useEffect(() => {
    if (!key || !repo || !branch) {
      setLoader(null);
      return;
    }
    const l = new Loader(() => fetchMetrics(repo, branch, 20));
    setLoader(l);
    void l.reload();
  }, [key]);
  if (!loader || !repo || !branch) {
    return null;
  }
  return (
    <div className="jp-PipesMetrics-sidebar">
      <MetricsView repo={repo} branch={branch} loader={loader} compact />
    </div>
  );
}

/** The revert dialog's comparison: the target's metrics next to the head's. */
export function RevertMetrics(props: { repo: string; branch: string; to: string; isOutput: boolean }): JSX.Element | null {
  const [pair, setPair] = useState<[IMetrics, IMetrics] | null>(null);
  useEffect(() => {
    if (!props.isOutput) {
      return;
    }
    let live = true;
    Promise.all([fetchCommitMetrics(props.repo, props.branch), fetchCommitMetrics(props.repo, props.to)])
      .then(p => live && setPair(p))
      .catch(() => undefined); // the dialog works without them
    return () => {
      live = false;
    };
  }, [props.repo, props.branch, props.to, props.isOutput]);
  if (!pair) {
    return null;
  }
  const [head, target] = pair;
  const names = metricNames([head, target]);
  if (!names.length) {
    return null;
  }
  return (
    <table className="jp-PipesMetrics-table jp-PipesMetrics-revert" aria-label="Metrics: the head and the revert target">
      <thead>
        <tr>
          <th>metric</th>
          <th>head {shortId(head.commit)}</th>
          <th>target {shortId(target.commit)}</th>
        </tr>
      </thead>
      <tbody>
        {names.map(n => (
          <tr key={n} data-metric={n}>
            <td>{n}</td>
            <td className="jp-Pipes-mono">{formatMetric(head.values[n])}</td>
            <td className="jp-Pipes-mono">{formatMetric(target.values[n])}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The metrics of the two compared commits, when they are a pipeline output's (else nothing). */
export function MetricChanges(props: { older: string; newer: string }): JSX.Element | null {
  const [diff, setDiff] = useState<IMetricsDiff | null>(null);
  useEffect(() => {
    let live = true;
    fetchMetricsDiff(props.older, props.newer)
      .then(d => live && setDiff(d))
      .catch(() => undefined); // not a pipeline output, or no metrics: the explanation stands alone
    return () => {
      live = false;
    };
  }, [props.older, props.newer]);
  if (!diff || !(diff.changes.length || diff.unchanged.length)) {
    return null;
  }
  const change = (c: IMetricChange): string => {
    if (c.change === null) {
      return c.old === null ? 'added' : 'removed';
    }
    const rel = c.relative === null ? '' : ` (${c.relative >= 0 ? '+' : ''}${(c.relative * 100).toFixed(1)}%)`;
    return `${c.change > 0 ? '+' : ''}${formatMetric(c.change)}${rel}`;
  };
  return (
    <div className="jp-PipesMetrics-diff">
      <table className="jp-PipesMetrics-table" aria-label="Metrics: old and new">
        <thead>
          <tr>
            <th>metric</th>
            <th>old {shortId(diff.old.commit)}</th>
            <th>new {shortId(diff.new.commit)}</th>
            <th>change</th>
          </tr>
        </thead>
        <tbody>
          {diff.changes.map(c => (
            <tr key={c.name} data-metric={c.name}>
              <td>{c.name}</td>
              <td className="jp-Pipes-mono">{formatMetric(c.old ?? undefined)}</td>
              <td className="jp-Pipes-mono">{formatMetric(c.new ?? undefined)}</td>
              <td className="jp-Pipes-mono">{change(c)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {diff.unchanged.length ? (
        <div className="jp-Pipes-muted jp-Pipes-small">unchanged: {diff.unchanged.map(c => c.name).join(', ')}</div>
      ) : null}
    </div>
  );
}
