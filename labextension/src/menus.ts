/**
 * The actions of a row (a repo, a commit, a job, a datum), in two menus that hold the same
 * commands: JupyterLab's context menu (right-click, or the context-menu key) and the row's “⋯”
 * button (for the keyboard: Tab to it, Enter, then the arrow keys).
 *
 * A row carries what its commands need as `data-*` attributes; a command run from the context
 * menu (no arguments) reads them from the row that was clicked. A command that is not
 * registered (yet: later work adds some) is simply not in the menus.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { CommandRegistry } from '@lumino/commands';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Menu } from '@lumino/widgets';

import { CommandIDs } from './commandIds';

export type RowKind = 'repo' | 'commit' | 'job' | 'datum';

/** The commands of each kind of row, in menu order. */
export const ROW_COMMANDS: Record<RowKind, string[]> = {
  repo: [
    CommandIDs.newBranch,
    CommandIDs.copyRef,
    CommandIDs.showTimeline,
    CommandIDs.showMetrics,
    CommandIDs.deleteRepo
  ],
  commit: [
    CommandIDs.openCommitFiles,
    CommandIDs.copyToWorkspace,
    CommandIDs.copyCommitId,
    CommandIDs.revert,
    CommandIDs.compareCommits
  ],
  job: [CommandIDs.jobLogs, CommandIDs.stopJob, CommandIDs.rerunJob],
  datum: [CommandIDs.openNotebook, CommandIDs.datumLog, CommandIDs.restartDatum]
};

/** The CSS selector of each kind of row (the element with its `data-*` attributes). */
export const ROW_SELECTORS: Record<RowKind, string> = {
  repo: '.jp-Pipes-repo[data-repo]',
  commit: '.jp-Pipes-commit[data-commit]',
  job: '.jp-Pipes-job[data-job]',
  datum: '.jp-Pipes-datum[data-datum]'
};

/** The `data-*` attributes of a row element, as command arguments. */
export function rowArgs(node: HTMLElement): Record<string, string> {
  return { ...node.dataset } as Record<string, string>;
}

/**
 * A command's arguments: those it was given, else those of the row of `kind` the context menu
 * was opened on (empty when there is none).
 */
export function argsOf(
  app: JupyterFrontEnd,
  args: ReadonlyPartialJSONObject,
  kind: RowKind
): Record<string, string> {
  if (Object.keys(args).length > 0) {
    return Object.fromEntries(
      Object.entries(args).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v)])
    );
  }
  const node = app.contextMenuHitTest(n => n.matches?.(ROW_SELECTORS[kind]));
  return node ? rowArgs(node) : {};
}

/** Put each kind of row's commands in JupyterLab's context menu. */
export function addContextMenus(app: JupyterFrontEnd): void {
  for (const kind of Object.keys(ROW_COMMANDS) as RowKind[]) {
    ROW_COMMANDS[kind].forEach((command, i) => {
      app.contextMenu.addItem({ command, selector: ROW_SELECTORS[kind], rank: 10 + i });
    });
  }
}

/**
 * Open a row's menu below `anchor` (the “⋯” button, or the row itself for the context-menu
 * key), with the row's arguments bound; focus returns to `anchor` when it closes.
 */
export function openRowMenu(
  commands: CommandRegistry,
  kind: RowKind,
  args: Record<string, string>,
  anchor: HTMLElement
): Menu | null {
  const menu = new Menu({ commands });
  menu.addClass('jp-Pipes-rowMenu');
  for (const command of ROW_COMMANDS[kind]) {
    if (commands.hasCommand(command) && commands.isVisible(command, args)) {
      menu.addItem({ command, args });
    }
  }
  if (menu.items.length === 0) {
    menu.dispose();
    return null;
  }
  menu.aboutToClose.connect(() => {
    requestAnimationFrame(() => {
      menu.dispose();
      anchor.focus();
    });
  });
  const box = anchor.getBoundingClientRect();
  menu.open(box.left, box.bottom);
  menu.activeIndex = 0;
  menu.node.focus();
  return menu;
}

/** A row's keyboard shortcut for its menu: the context-menu key, or Shift+F10. */
export function isMenuKey(event: { key: string; shiftKey: boolean }): boolean {
  return event.key === 'ContextMenu' || (event.key === 'F10' && event.shiftKey);
}
