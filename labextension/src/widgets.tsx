/**
 * Lumino widgets around the React components: the sidebar panel and the main-area DAG.
 */
import { ReactWidget } from '@jupyterlab/apputils';
import { CommandRegistry } from '@lumino/commands';
import React from 'react';

import { PipesContext } from './components/context';
import { DagView } from './components/DagView';
import { Jobs } from './components/Jobs';
import { Sidebar } from './components/Sidebar';
import { FocusKeeper } from './focuskeeper';
import { PipesModel } from './model';

export class PipesPanel extends ReactWidget {
  constructor(
    readonly model: PipesModel,
    readonly commands: CommandRegistry
  ) {
    super();
    this.addClass('jp-PipesPanel');
    this.id = 'jupyter-pipes-panel';
    this.title.caption = 'Pipes: versioned data and pipelines';
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'Pipes sidebar');
    this._keeper = new FocusKeeper(this.node);
  }

  dispose(): void {
    this._keeper.dispose();
    super.dispose();
  }

  render(): JSX.Element {
    return (
      <PipesContext.Provider value={{ model: this.model, commands: this.commands }}>
        <Sidebar />
      </PipesContext.Provider>
    );
  }

  private _keeper: FocusKeeper;
}

/** The DAG at full size, with the selected pipeline's jobs beside it. */
export class DagPanel extends ReactWidget {
  constructor(
    readonly model: PipesModel,
    readonly commands: CommandRegistry
  ) {
    super();
    this.addClass('jp-PipesDagPanel');
  }

  render(): JSX.Element {
    return (
      <PipesContext.Provider value={{ model: this.model, commands: this.commands }}>
        <div className="jp-PipesDagPanel-graph">
          <DagView compact={false} />
        </div>
        <div className="jp-PipesDagPanel-jobs" aria-label="Jobs">
          <Jobs />
        </div>
      </PipesContext.Provider>
    );
  }
}
