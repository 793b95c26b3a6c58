/**
 * The main-area widgets of lineage (#14): a file's lineage, "why did it change", a branch's
 * timeline and its metrics. Each holds a `Loader` of what it shows and renders a component.
 */
import { ReactWidget } from '@jupyterlab/apputils';
import { CommandRegistry } from '@lumino/commands';
import React from 'react';

import { PipesContext } from '../components/context';
import { PipesModel } from '../model';
import {
  fetchBranchLog,
  fetchExplanation,
  fetchLineage,
  fetchMetrics,
  IExplanation,
  IHeadMove,
  ILineage,
  IMetrics
} from './api';
import { ExplainView } from './ExplainView';
import { LineageView } from './LineageView';
import { Loader } from './loader';
import { MetricsView } from './MetricsView';
import { TimelineView } from './TimelineView';

abstract class LineageWidget extends ReactWidget {
  constructor(
    readonly model: PipesModel,
    readonly commands: CommandRegistry
  ) {
    super();
    this.addClass('jp-PipesLineagePanel');
  }

  abstract view(): JSX.Element;

  render(): JSX.Element {
    return (
      <PipesContext.Provider value={{ model: this.model, commands: this.commands }}>{this.view()}</PipesContext.Provider>
    );
  }
}

export class LineagePanel extends LineageWidget {
  constructor(
    model: PipesModel,
    commands: CommandRegistry,
    readonly repo: string,
    readonly commit: string,
    readonly path: string
  ) {
    super(model, commands);
    this.loader = new Loader<ILineage>(() => fetchLineage(repo, commit, path));
  }

  readonly loader: Loader<ILineage>;

  view(): JSX.Element {
    return <LineageView loader={this.loader} />;
  }
}

export class ExplainPanel extends LineageWidget {
  constructor(
    model: PipesModel,
    commands: CommandRegistry,
    readonly older: string,
    readonly newer: string,
    known?: IExplanation
  ) {
    super(model, commands);
    let first = known;
    this.loader = new Loader<IExplanation>(() => {
      const found = first;
      first = undefined;
      return found ? Promise.resolve(found) : fetchExplanation(older, newer);
    });
  }

  readonly loader: Loader<IExplanation>;

  view(): JSX.Element {
    return <ExplainView loader={this.loader} />;
  }
}

export class TimelinePanel extends LineageWidget {
  constructor(
    model: PipesModel,
    commands: CommandRegistry,
    readonly repo: string,
    readonly branch: string
  ) {
    super(model, commands);
    this.loader = new Loader<IHeadMove[]>(() => fetchBranchLog(repo, branch));
  }

  readonly loader: Loader<IHeadMove[]>;

  view(): JSX.Element {
    return <TimelineView repo={this.repo} branch={this.branch} loader={this.loader} />;
  }
}

export class MetricsPanel extends LineageWidget {
  constructor(
    model: PipesModel,
    commands: CommandRegistry,
    readonly repo: string,
    readonly branch: string
  ) {
    super(model, commands);
    this.loader = new Loader<IMetrics[]>(() => fetchMetrics(repo, branch, 200));
  }

  readonly loader: Loader<IMetrics[]>;

  view(): JSX.Element {
    return <MetricsView repo={this.repo} branch={this.branch} loader={this.loader} />;
  }
}
