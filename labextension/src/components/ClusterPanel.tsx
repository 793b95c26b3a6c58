/**
 * The cluster section: the Dask workers of the controller's cluster with their threads, memory,
 * custom resources and warm kernels, the datums in flight per job, and Dask's dashboard (inside
 * JupyterLab through dask-labextension when it is installed, else in a new tab). When no
 * cluster runs, it says so and when one starts.
 *
 * It asks the server only while it is on screen: an IntersectionObserver sees the section
 * (a hidden sidebar, a collapsed section or one scrolled away is not looked at), and the page's
 * visibility counts too.
 */
import React, { useEffect, useRef } from 'react';

import { formatSize, shortId } from '../format';
import {
  ClusterModel,
  dashboardLink,
  dashboardRoot,
  DASK_LAYOUT_COMMAND,
  IClusterWorker,
  ICluster,
  inFlight,
  kernelSummary
} from '../model/cluster';
import { Empty, ErrorMessage } from './bits';
import { run, usePipes, useSignals } from './context';

/** Watch the model while `ref`'s element is on screen and the page is visible. */
function useWatchWhileShown(cluster: ClusterModel, ref: React.RefObject<HTMLElement>): void {
  useEffect(() => {
    const el = ref.current;
    let onScreen = typeof IntersectionObserver === 'undefined'; // no observer: assume shown
    const update = () => cluster.watch(onScreen && document.visibilityState !== 'hidden');
    const observer =
      el && typeof IntersectionObserver !== 'undefined'
        ? new IntersectionObserver(entries => {
            onScreen = entries.some(e => e.isIntersecting);
            update();
          })
        : null;
    if (el && observer) {
      observer.observe(el);
    }
    document.addEventListener('visibilitychange', update);
    update();
    return () => {
      observer?.disconnect();
      document.removeEventListener('visibilitychange', update);
      cluster.watch(false);
    };
  }, [cluster, ref]);
}

function Dashboard({ cluster }: { cluster: ICluster }): JSX.Element | null {
  const { commands } = usePipes();
  const link = dashboardLink(cluster, {
    daskLab: commands.hasCommand(DASK_LAYOUT_COMMAND),
    pageHost: window.location.hostname
  });
  if (link.how === 'none') {
    return link.note ? <div className="jp-Pipes-small jp-Pipes-muted">Dashboard: {link.note}</div> : null;
  }
  if (link.how === 'lab') {
    return (
      <button
        className="jp-Pipes-link jp-Pipes-clusterDashboard"
        title={link.note}
        onClick={() => run(commands, DASK_LAYOUT_COMMAND, { url: dashboardRoot(link.url!) })}
      >
        Open Dask’s dashboard
      </button>
    );
  }
  if (link.how === 'elsewhere') {
    return (
      <div className="jp-Pipes-small jp-Pipes-clusterDashboard" title={link.note}>
        Dashboard (on the server’s machine): <span className="jp-Pipes-mono">{link.url}</span>
        <div className="jp-Pipes-muted">{link.note}</div>
      </div>
    );
  }
  return (
    <a
      className="jp-Pipes-link jp-Pipes-clusterDashboard"
      href={link.url!}
      target="_blank"
      rel="noopener noreferrer"
      title={link.note}
    >
      Open Dask’s dashboard ↗
    </a>
  );
}

function Worker({ worker, pipelines }: { worker: IClusterWorker; pipelines: Map<string, string | null> }): JSX.Element {
  const memory =
    worker.memory === null
      ? 'memory unknown'
      : worker.memory_limit
        ? `${formatSize(worker.memory)} of ${formatSize(worker.memory_limit)}`
        : formatSize(worker.memory);
  const resources = Object.entries(worker.resources)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  const kernelMemory = (worker.kernels ?? []).reduce((n, k) => n + (k.memory ?? 0), 0);
  const running = worker.jobs.reduce((n, j) => n + j.running, 0);
  return (
    <li
      className="jp-Pipes-clusterWorker"
      data-worker={worker.name}
      data-running={running}
      title={worker.address}
    >
      <div className="jp-Pipes-endpointLine">
        <span className="jp-Pipes-mono">{worker.name}</span>
        <span className={`jp-Pipes-badge jp-Pipes-workerStatus jp-mod-${worker.status}`}>{worker.status}</span>
        {resources.map(r => (
          <span key={r} className="jp-Pipes-badge jp-Pipes-resource" data-resource={r}>
            {r}
          </span>
        ))}
      </div>
      <div className="jp-Pipes-small jp-Pipes-muted">
        {worker.threads} thread{worker.threads === 1 ? '' : 's'} · {memory}
        {worker.shared_process ? ' (one process for all workers)' : ''}
      </div>
      <div className="jp-Pipes-small jp-Pipes-muted" data-kernels={worker.kernels?.length ?? ''}>
        {kernelSummary(worker.kernels)}
        {kernelMemory ? ` · ${formatSize(kernelMemory)}` : ''}
      </div>
      {worker.jobs.map(j => (
        <div key={j.job} className="jp-Pipes-small" data-job={j.job} data-running={j.running} data-queued={j.queued}>
          {pipelines.get(j.job) ?? 'job'} <span className="jp-Pipes-mono">{shortId(j.job)}</span>: {j.running} running,{' '}
          {j.queued} queued
        </div>
      ))}
    </li>
  );
}

export function ClusterPanel({ cluster }: { cluster: ClusterModel }): JSX.Element {
  const { model } = usePipes();
  const ref = useRef<HTMLDivElement>(null);
  useSignals(cluster.changed);
  useWatchWhileShown(cluster, ref);
  const info = cluster.cluster;
  const pipelines = new Map((info?.jobs ?? []).map(j => [j.job, j.pipeline] as [string, string | null]));
  return (
    <div className="jp-Pipes-cluster" ref={ref} data-state={info?.state ?? 'loading'}>
      <ErrorMessage message={cluster.error} />
      {!cluster.loaded ? (
        <Empty>Looking at the cluster…</Empty>
      ) : info ? (
        <>
          <div className="jp-Pipes-clusterMessage" role="status">
            {info.message}
          </div>
          {info.state === 'running' ? (
            <>
              <Dashboard cluster={info} />
              <div className="jp-Pipes-subheading">Datums in flight</div>
              {info.jobs.length === 0 ? (
                <Empty>None: the workers are idle.</Empty>
              ) : (
                <ul className="jp-Pipes-list" aria-label="Datums in flight per job">
                  {info.jobs.map(j => (
                    <li
                      key={j.job}
                      className="jp-Pipes-clusterJob"
                      data-job={j.job}
                      data-running={j.running}
                      data-queued={j.queued}
                    >
                      {j.pipeline ? (
                        <button
                          className="jp-Pipes-link"
                          title="Show this pipeline's jobs"
                          onClick={() => void model.selectPipeline(j.pipeline)}
                        >
                          {j.pipeline}
                        </button>
                      ) : (
                        <span>another store’s job</span>
                      )}{' '}
                      <span className="jp-Pipes-mono jp-Pipes-muted">{shortId(j.job)}</span>: {j.running} running,{' '}
                      {j.queued} queued on {j.workers.length} worker{j.workers.length === 1 ? '' : 's'}
                    </li>
                  ))}
                </ul>
              )}
              <div className="jp-Pipes-subheading">Workers</div>
              <ul className="jp-Pipes-list" aria-label="Dask workers">
                {info.workers.map(w => (
                  <Worker key={w.address} worker={w} pipelines={pipelines} />
                ))}
              </ul>
            </>
          ) : null}
        </>
      ) : null}
    </div>
  );
}

/** The section header's summary: workers and datums running, or the state. */
export function ClusterDetail({ cluster }: { cluster: ClusterModel }): JSX.Element | null {
  useSignals(cluster.changed);
  const info = cluster.cluster;
  if (!info) {
    return null;
  }
  if (info.state !== 'running') {
    return <span data-cluster-state={info.state}>{info.state}</span>;
  }
  const { running } = inFlight(info);
  const n = info.workers.length;
  return (
    <span data-cluster-state="running">
      {n} worker{n === 1 ? '' : 's'}
      {running ? ` · ${running} running` : ''}
    </span>
  );
}
