/**
 * The sidebar panel: renders a PipesModel, nothing else.
 */
import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import React from 'react';

import { PipesModel } from './model';

function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function RepoList({ model }: { model: PipesModel }): JSX.Element {
  if (model.error) {
    return <div className="jp-PipesPanel-error">{model.error}</div>;
  }
  if (!model.loaded) {
    return <div className="jp-PipesPanel-empty">Loading…</div>;
  }
  if (model.repos.length === 0) {
    return (
      <div className="jp-PipesPanel-empty">
        No repos yet. Create one with <code>jupyter pipes create repo NAME</code>, or
        run the demo: <code>jupyter pipes demo</code>.
      </div>
    );
  }
  return (
    <ul className="jp-PipesPanel-repos" aria-label="Repos">
      {model.repos.map(repo => (
        <li key={repo.name} className="jp-PipesPanel-repo" tabIndex={0}>
          <strong>{repo.name}</strong> · {repo.branches.join(', ')} ·{' '}
          {formatSize(repo.size_bytes)}
        </li>
      ))}
    </ul>
  );
}

export class PipesPanel extends ReactWidget {
  constructor(readonly model: PipesModel) {
    super();
    this.addClass('jp-PipesPanel');
    this.id = 'jupyter-pipes-panel';
    this.title.caption = 'Pipes: versioned data and pipelines';
  }

  render(): JSX.Element {
    return (
      <>
        <div className="jp-PipesPanel-header">Pipes</div>
        <UseSignal signal={this.model.changed}>
          {() => <RepoList model={this.model} />}
        </UseSignal>
      </>
    );
  }
}
