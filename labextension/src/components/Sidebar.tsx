/**
 * The sidebar: a header (connection, refresh, DAG, new repo) and six sections: repos, the
 * selected branch's history, the DAG, the Dask cluster, the selected pipeline's jobs, and the
 * endpoints.
 */
import { addIcon, launchIcon, refreshIcon } from '@jupyterlab/ui-components';
import React, { useEffect, useMemo } from 'react';

import { CommandIDs } from '../commandIds';
import { ClusterModel } from '../model/cluster';
import { ClusterDetail, ClusterPanel } from './ClusterPanel';
import { DagView } from './DagView';
import { Endpoints } from './Endpoints';
import { Empty, ErrorMessage, IconButton } from './bits';
import { run, usePipes, useSignals } from './context';
import { History } from './History';
import { Jobs } from './Jobs';
import { RepoList } from './RepoList';
import { Section } from './Section';

const CONNECTION: Record<string, string> = {
  open: 'live: updates arrive as they happen',
  connecting: 'connecting to live updates…',
  closed: 'live updates disconnected: reconnecting'
};

export function Header(): JSX.Element {
  const { model, commands } = usePipes();
  return (
    <div className="jp-Pipes-header">
      <span className="jp-Pipes-title">Pipes</span>
      <span
        className={`jp-Pipes-connection jp-mod-${model.connection}`}
        role="status"
        aria-label={CONNECTION[model.connection]}
        title={CONNECTION[model.connection]}
      />
      <span className="jp-Pipes-headerActions">
        <IconButton icon={addIcon} label="Create a repo" onClick={() => run(commands, CommandIDs.createRepo)} />
        <IconButton
          icon={launchIcon}
          label="Open the DAG in the main area"
          onClick={() => run(commands, CommandIDs.openDag)}
        />
        <IconButton icon={refreshIcon} label="Refresh" onClick={() => run(commands, CommandIDs.refresh)} />
      </span>
    </div>
  );
}

export function Sidebar(): JSX.Element {
  const { model, commands } = usePipes();
  useSignals(model.changed, model.history.changed, model.jobs.changed, model.repos.changed);
  // the cluster panel's model: events poke it (a job's progress, the cluster starting)
  const cluster = useMemo(() => new ClusterModel({ pokes: [model.jobUpdated, model.changed] }), [model]);
  useEffect(() => () => cluster.dispose(), [cluster]);
  if (!model.loaded) {
    return (
      <>
        <Header />
        <Empty>Connecting to the jupyter_pipes server extension…</Empty>
      </>
    );
  }
  if (model.error) {
    return (
      <>
        <Header />
        <ErrorMessage message={model.error} />
      </>
    );
  }
  const history = model.history;
  return (
    <>
      <Header />
      <Section
        id="repos"
        title="Repos"
        detail={model.repos.repos.length || null}
        actions={
          <IconButton icon={addIcon} label="New repo" onClick={() => run(commands, CommandIDs.createRepo)} />
        }
      >
        <RepoList />
      </Section>
      <Section
        id="history"
        title="History"
        detail={history.repo ? `${history.repo}@${history.branch}` : null}
      >
        <History />
      </Section>
      <Section
        id="dag"
        title="DAG"
        actions={
          <IconButton
            icon={launchIcon}
            label="Open the DAG in the main area"
            onClick={() => run(commands, CommandIDs.openDag)}
          />
        }
      >
        <DagView compact={true} />
      </Section>
      <Section
        id="cluster"
        title="Cluster"
        detail={<ClusterDetail cluster={cluster} />}
        actions={
          <IconButton icon={refreshIcon} label="Refresh the cluster" onClick={() => void cluster.refresh()} />
        }
      >
        <ClusterPanel cluster={cluster} />
      </Section>
      <Section id="jobs" title="Jobs" detail={model.jobs.pipeline}>
        <Jobs />
      </Section>
      <Section id="endpoints" title="Endpoints">
        <Endpoints />
      </Section>
    </>
  );
}
