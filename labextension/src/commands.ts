/**
 * The extension's commands: palette entries (open the sidebar, open the DAG, refresh, create a
 * repo) and the actions the components trigger (open a stored file or an executed notebook
 * read-only, revert).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { LabIcon } from '@jupyterlab/ui-components';

import { CommandIDs } from './commandIds';
import { createRepoDialog, revertDialog } from './dialogs';
import { fileKind, notebookPath, PipesModel } from './model';
import { DagPanel, PipesPanel } from './widgets';

export interface ICommandDeps {
  app: JupyterFrontEnd;
  model: PipesModel;
  panel: PipesPanel;
  icon: LabIcon;
  docManager: IDocumentManager | null;
  palette: ICommandPalette | null;
  dagTracker: WidgetTracker<MainAreaWidget<DagPanel>>;
}

/** Open a `pipes:` path read-only in JupyterLab's viewer for it; notebooks start no kernel. */
async function openReadOnly(deps: ICommandDeps, path: string): Promise<void> {
  const noKernel = { shouldStart: false, canStart: false, autoStartDefault: false };
  const isNotebook = fileKind(path).kind === 'notebook';
  if (!deps.docManager) {
    await deps.app.commands.execute('docmanager:open', { path });
    return;
  }
  const widget = deps.docManager.openOrReveal(
    path,
    undefined,
    undefined,
    undefined,
    isNotebook ? noKernel : undefined
  );
  if (!widget) {
    throw new Error(`JupyterLab has no viewer for ${path}`);
  }
  // (the tab's label is the file name: setting it would ask the drive to rename the file)
  await widget.context.ready;
}

export function addCommands(deps: ICommandDeps): void {
  const { app, model, panel, icon, palette, dagTracker } = deps;
  const { commands, shell } = app;

  commands.addCommand(CommandIDs.open, {
    label: 'Pipes: Open the Sidebar',
    caption: 'Repos, commit history, the DAG and jobs',
    icon,
    execute: () => {
      shell.activateById(panel.id);
      if (model.error || !model.loaded) {
        return model.refresh();
      }
    }
  });

  commands.addCommand(CommandIDs.openDag, {
    label: 'Pipes: Open the DAG',
    caption: 'The pipeline graph in the main area, with live job state',
    icon,
    execute: () => {
      const existing = dagTracker.currentWidget ?? dagTracker.find(() => true);
      if (existing) {
        shell.activateById(existing.id);
        return;
      }
      const content = new DagPanel(model, commands);
      const widget = new MainAreaWidget({ content });
      widget.id = 'jupyter-pipes-dag';
      widget.title.label = 'Pipes DAG';
      widget.title.icon = icon;
      widget.title.closable = true;
      void dagTracker.add(widget);
      shell.add(widget, 'main');
      shell.activateById(widget.id);
      if (!model.dag.loaded) {
        void model.refresh();
      }
    }
  });

  commands.addCommand(CommandIDs.refresh, {
    label: 'Pipes: Refresh',
    caption: 'Reload repos, history, the DAG and jobs from the server',
    execute: () => model.refresh()
  });

  commands.addCommand(CommandIDs.createRepo, {
    label: 'Pipes: Create a Repo…',
    execute: () => createRepoDialog(model)
  });

  commands.addCommand(CommandIDs.openFile, {
    label: 'Pipes: Open a Stored File (read-only)',
    execute: args => openReadOnly(deps, String(args.path))
  });

  commands.addCommand(CommandIDs.openNotebook, {
    label: 'Pipes: Open the Executed Notebook of a Datum',
    execute: args => {
      const path = notebookPath(String(args.job), String(args.datum), String(args.pipeline ?? 'datum'));
      return openReadOnly(deps, path);
    }
  });

  commands.addCommand(CommandIDs.revert, {
    label: 'Pipes: Revert a Branch to a Commit…',
    execute: async args => {
      const commit = await model.commit(String(args.repo), String(args.commit));
      return revertDialog(model, commit, args.branch ? String(args.branch) : undefined);
    }
  });

  for (const command of [CommandIDs.open, CommandIDs.openDag, CommandIDs.refresh, CommandIDs.createRepo]) {
    palette?.addItem({ command, category: 'Pipes' });
  }
}
