/**
 * The extension's commands: palette entries (open the sidebar, open the DAG, refresh, create a
 * repo), the actions of rows (repos, commits, jobs, datums: see `menus.ts`), the workspace
 * (commit files to a repo, copy stored files to the workspace) and opening stored files and
 * executed notebooks read-only.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Clipboard,
  ICommandPalette,
  MainAreaWidget,
  Notification,
  WidgetTracker
} from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { FileBrowser } from '@jupyterlab/filebrowser';
import { LabIcon } from '@jupyterlab/ui-components';

import { CommandIDs } from './commandIds';
import {
  commitToRepoDialog,
  copyToWorkspaceDialog,
  createRepoDialog,
  deleteRepoDialog,
  newBranchDialog,
  revertDialog
} from './dialogs';
import { LogPanel } from './logpanel';
import { argsOf } from './menus';
import {
  DRIVE_NAME,
  fileKind,
  filePath,
  logKey,
  LogModel,
  notebookPath,
  parseDrivePath,
  PipesModel
} from './model';
import { EXECUTED_NOTEBOOK_FACTORY } from './notebooks';
import { DagPanel, PipesPanel } from './widgets';

export interface ICommandDeps {
  app: JupyterFrontEnd;
  model: PipesModel;
  panel: PipesPanel;
  icon: LabIcon;
  docManager: IDocumentManager | null;
  palette: ICommandPalette | null;
  dagTracker: WidgetTracker<MainAreaWidget<DagPanel>>;
  /** The read-only Pipes files browser. */
  files: FileBrowser | null;
  /** JupyterLab's file browser of the workspace. */
  workspace: FileBrowser | null;
  /** True when executed notebooks have their own widget factory (see `notebooks.ts`). */
  executedFactory: boolean;
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
    isNotebook && deps.executedFactory ? EXECUTED_NOTEBOOK_FACTORY : undefined,
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

/** Open (or show again) the log tab of a job or a datum; it follows a running job. */
function openLog(deps: ICommandDeps, job: string, datum?: string): void {
  const { app, model } = deps;
  const id = `jupyter-pipes-log-${logKey({ job, datum }).replace(/[^\w-]/g, '_')}`;
  const open = Array.from(app.shell.widgets('main')).find(w => w.id === id);
  if (open) {
    app.shell.activateById(id);
    return;
  }
  const logs = new LogModel({ job, datum });
  const follow = (_: unknown, update: Parameters<LogModel['applyJob']>[0]) => logs.applyJob(update);
  model.jobUpdated.connect(follow);
  const widget = new MainAreaWidget({ content: new LogPanel(logs) });
  widget.id = id;
  widget.title.icon = deps.icon;
  widget.title.closable = true;
  widget.title.label = logs.title;
  logs.changed.connect(() => (widget.title.label = logs.title));
  widget.disposed.connect(() => model.jobUpdated.disconnect(follow));
  app.shell.add(widget, 'main', { mode: 'split-bottom' });
  app.shell.activateById(id);
  void logs.refresh();
}

function notify(message: string): void {
  Notification.success(message, { autoClose: 3000 });
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
    label: 'Open Executed Notebook',
    caption: 'The notebook as this datum ran it, read-only, without a kernel',
    isVisible: args => {
      const a = argsOf(app, args, 'datum');
      return a.notebook !== '0';
    },
    execute: args => {
      const a = argsOf(app, args, 'datum');
      if (!a.job || !a.datum) {
        return;
      }
      return openReadOnly(deps, notebookPath(a.job, a.datum, a.pipeline || 'datum'));
    }
  });

  commands.addCommand(CommandIDs.revert, {
    label: 'Revert to This Commit…',
    caption: 'A new commit on the branch restoring this commit’s files (shows what re-runs first)',
    isEnabled: args => {
      const a = argsOf(app, args, 'commit');
      return a.head !== '1';
    },
    execute: async args => {
      const a = argsOf(app, args, 'commit');
      if (!a.repo || !a.commit) {
        return;
      }
      const commit = await model.commit(a.repo, a.commit);
      return revertDialog(model, commit, a.branch || undefined);
    }
  });

  // -- repos --------------------------------------------------------------------------------

  commands.addCommand(CommandIDs.newBranch, {
    label: 'New Branch…',
    caption: 'A branch of this repo, starting at the head of another branch or at a commit',
    execute: args => {
      const a = argsOf(app, args, 'repo');
      return a.repo ? newBranchDialog(model, a.repo, a.branch || undefined) : undefined;
    }
  });

  commands.addCommand(CommandIDs.copyRef, {
    label: 'Copy Ref',
    caption: 'Copy repo@branch, as the CLI, the magics and pipes:// URLs read it',
    execute: args => {
      const a = argsOf(app, args, 'repo');
      if (a.repo) {
        Clipboard.copyToSystem(`${a.repo}@${a.branch || 'master'}`);
        notify(`Copied ${a.repo}@${a.branch || 'master'}`);
      }
    }
  });

  commands.addCommand(CommandIDs.deleteRepo, {
    label: 'Delete Repo…',
    caption: 'Delete the repo, its branches and commits (asks first)',
    isEnabled: args => {
      const a = argsOf(app, args, 'repo');
      return a.output !== '1';
    },
    execute: args => {
      const a = argsOf(app, args, 'repo');
      return a.repo ? deleteRepoDialog(model, a.repo) : undefined;
    }
  });

  commands.addCommand(CommandIDs.toggleInternal, {
    label: 'Pipes: Show Internal Branches',
    caption: 'List the spec branches where pipelines keep their spec and notebook versions',
    isToggled: () => model.repos.showInternal,
    execute: () => model.repos.setShowInternal(!model.repos.showInternal)
  });

  // -- commits ------------------------------------------------------------------------------

  commands.addCommand(CommandIDs.copyCommitId, {
    label: 'Copy Commit Id',
    execute: args => {
      const a = argsOf(app, args, 'commit');
      if (a.commit) {
        Clipboard.copyToSystem(a.commit);
        notify(`Copied ${a.commit}`);
      }
    }
  });

  commands.addCommand(CommandIDs.openCommitFiles, {
    label: 'Open Files of This Commit',
    caption: 'Browse the commit read-only in the Pipes files panel',
    isVisible: () => !!deps.files,
    execute: async args => {
      const a = argsOf(app, args, 'commit');
      if (!a.repo || !a.commit || !deps.files) {
        return;
      }
      shell.activateById(deps.files.id);
      await deps.files.model.cd(`${filePath(a.repo, a.commit, '/')}`);
    }
  });

  commands.addCommand(CommandIDs.copyToWorkspace, {
    label: 'Copy to Workspace…',
    caption: 'Copy this commit’s files (or one file or folder) into the workspace',
    execute: async args => {
      const a = argsOf(app, args, 'commit');
      if (!a.repo || !a.commit) {
        return;
      }
      const copied = await copyToWorkspaceDialog(a.repo, a.commit, a.path || '/');
      if (copied) {
        notify(`Copied to ${copied.to} in the workspace`);
        await deps.workspace?.model.refresh();
      }
    }
  });

  commands.addCommand(CommandIDs.copyFromDrive, {
    label: 'Copy to Workspace…',
    caption: 'Copy this stored file or folder into the workspace',
    execute: async () => {
      const item = deps.files?.selectedItems().next();
      if (!item || item.done) {
        return;
      }
      const local = item.value.path.replace(new RegExp(`^${DRIVE_NAME}:`), '');
      const where = parseDrivePath(local);
      if (where.kind !== 'file') {
        return;
      }
      const copied = await copyToWorkspaceDialog(where.repo, where.ref, where.path);
      if (copied) {
        notify(`Copied to ${copied.to} in the workspace`);
        await deps.workspace?.model.refresh();
      }
    }
  });

  // -- jobs and datums ----------------------------------------------------------------------

  commands.addCommand(CommandIDs.jobLogs, {
    label: 'Show Job Logs',
    caption: 'The logs of every datum, in a tab that follows the job while it runs',
    execute: args => {
      const a = argsOf(app, args, 'job');
      if (a.job) {
        openLog(deps, a.job);
      }
    }
  });

  commands.addCommand(CommandIDs.datumLog, {
    label: 'Show Datum Log',
    caption: 'What the datum printed, in a tab',
    isVisible: args => argsOf(app, args, 'datum').state !== 'skipped',
    execute: args => {
      const a = argsOf(app, args, 'datum');
      if (a.job && a.datum) {
        openLog(deps, a.job, a.datum);
      }
    }
  });

  // -- the workspace ------------------------------------------------------------------------

  commands.addCommand(CommandIDs.commitToRepo, {
    label: 'Commit to Repo…',
    caption: 'Commit the selected files and folders to a branch of a Pipes repo',
    execute: async args => {
      let paths = Array.isArray(args.paths) ? (args.paths as string[]) : [];
      if (!paths.length && deps.workspace) {
        paths = Array.from(deps.workspace.selectedItems()).map(i => i.path);
      }
      if (!paths.length) {
        return;
      }
      await commitToRepoDialog(model, paths, {
        repo: args.repo ? String(args.repo) : undefined,
        branch: args.branch ? String(args.branch) : undefined
      });
    }
  });
  app.contextMenu.addItem({
    command: CommandIDs.commitToRepo,
    selector: '#filebrowser .jp-DirListing-item[data-isdir]',
    rank: 12
  });

  for (const command of [
    CommandIDs.open,
    CommandIDs.openDag,
    CommandIDs.refresh,
    CommandIDs.createRepo,
    CommandIDs.toggleInternal
  ]) {
    palette?.addItem({ command, category: 'Pipes' });
  }
}
