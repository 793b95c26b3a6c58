/**
 * The commands of lineage (#14): Show Lineage (a file of a commit, or of the `pipes:` drive),
 * Compare with… (two commits, or two versions of a file: opens "why did it change"), Show
 * Branch Timeline and Show Metrics (a repo's row), and Why Did It Change? (two given versions: the
 * metrics table's "why?"). Each opens a main-area tab.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { FileBrowser } from '@jupyterlab/filebrowser';
import { LabIcon } from '@jupyterlab/ui-components';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { CommandIDs } from '../commandIds';
import { shortId } from '../format';
import { showForm } from '../forms';
import { argsOf } from '../menus';
import { DRIVE_NAME, parseDrivePath, PipesModel } from '../model';
import { fetchExplanation } from './api';
import { ExplainPanel, LineagePanel, MetricsPanel, TimelinePanel } from './widgets';

export interface ILineageDeps {
  app: JupyterFrontEnd;
  model: PipesModel;
  icon: LabIcon;
  /** The read-only Pipes files browser (its selected file is a command's default target). */
  files: FileBrowser | null;
}

type Panel = LineagePanel | ExplainPanel | TimelinePanel | MetricsPanel;

function safeId(text: string): string {
  return text.replace(/[^\w-]/g, '_');
}

/** The file a command is about: its arguments, the clicked file row, or the drive's selection. */
function fileArgs(app: JupyterFrontEnd, files: FileBrowser | null, args: ReadonlyPartialJSONObject) {
  if (args.repo && args.commit && args.path) {
    return { repo: String(args.repo), commit: String(args.commit), path: String(args.path) };
  }
  const row = app.contextMenuHitTest(n => n.matches?.('.jp-Pipes-file[data-path]'));
  const detail = row?.closest<HTMLElement>('.jp-Pipes-commitDetail[data-commit]');
  if (row && detail) {
    const repo = detail.dataset.repo ?? '';
    return { repo, commit: detail.dataset.commit ?? '', path: row.dataset.path ?? '' };
  }
  const item = files?.selectedItems().next();
  if (item && !item.done && item.value.type !== 'directory') {
    const where = parseDrivePath(item.value.path.replace(new RegExp(`^${DRIVE_NAME}:`), ''));
    if (where.kind === 'file') {
      return { repo: where.repo, commit: where.ref, path: where.path };
    }
  }
  return null;
}

export function addLineageCommands(deps: ILineageDeps): void {
  const { app, model, icon, files } = deps;
  const { commands, shell } = app;

  const open = (id: string, label: string, make: () => Panel): void => {
    const existing = Array.from(shell.widgets('main')).find(w => w.id === id);
    if (existing) {
      shell.activateById(id);
      return;
    }
    const content = make();
    const widget = new MainAreaWidget({ content });
    widget.id = id;
    widget.title.label = label;
    widget.title.caption = label;
    widget.title.icon = icon;
    widget.title.closable = true;
    shell.add(widget, 'main');
    shell.activateById(id);
    void content.loader.reload();
  };

  /** The other version to compare with: the branch's commits, the parent first. */
  const pickOther = async (
    repo: string,
    commit: string,
    what: string,
    compare: (other: string) => Promise<unknown>
  ): Promise<void> => {
    const info = await model.commit(repo, commit).catch(() => null);
    const listed = model.history.repo === repo ? model.history.commits : [];
    const options = listed.filter(c => c.id !== commit).map(c => `${shortId(c.id)} ${c.message}`.trim());
    const parent = info?.parent ? shortId(info.parent) : (options[0]?.split(' ')[0] ?? '');
    await showForm({
      title: `Compare ${what} with…`,
      accept: 'Compare',
      intro: `Why did it change? Pick the other version of ${repo} (a commit id or prefix, or a ref such as master^2); the older one is compared with the newer one.`,
      fields: [
        {
          name: 'other',
          label: 'The other version',
          value: parent,
          options,
          free: true,
          errorKeys: ['old', 'new', 'ref', 'commit'],
          check: v => (v.trim() ? null : 'Give a commit or ref.')
        }
      ],
      submit: v => compare(v.other.trim().split(/\s+/)[0])
    });
  };

  /** Older first, as far as the loaded history tells (else as given). */
  const ordered = (repo: string, other: string, commit: string): [string, string] => {
    const ids = model.history.repo === repo ? model.history.commits.map(c => c.id) : [];
    const io = ids.findIndex(id => id.startsWith(other));
    const ic = ids.indexOf(commit);
    return io >= 0 && ic >= 0 && io < ic ? [commit, other] : [other, commit];
  };

  commands.addCommand(CommandIDs.showLineage, {
    label: 'Show Lineage',
    caption: 'What made this file: datum, job, notebook version and cell, input files, upstream',
    isVisible: args => fileArgs(app, files, args) !== null,
    execute: args => {
      const f = fileArgs(app, files, args);
      if (!f) {
        return;
      }
      open(`jupyter-pipes-lineage-${safeId(`${f.repo}@${f.commit}:${f.path}`)}`, `Lineage: ${f.path.split('/').pop()}`, () =>
        new LineagePanel(model, commands, f.repo, f.commit, f.path)
      );
    }
  });

  const explain = (older: string, newer: string, label: string) => async () => {
    const found = await fetchExplanation(older, newer);
    open(`jupyter-pipes-explain-${safeId(`${found.old}-${found.new}`)}`, label, () =>
      new ExplainPanel(model, commands, older, newer, found)
    );
    return found;
  };

  commands.addCommand(CommandIDs.compareFile, {
    label: 'Compare with…',
    caption: 'Why did this file change? Compare it with its version at another commit',
    isVisible: args => fileArgs(app, files, args) !== null,
    execute: async args => {
      const f = fileArgs(app, files, args);
      if (!f) {
        return;
      }
      await pickOther(f.repo, f.commit, `${f.path} of ${f.repo}@${shortId(f.commit)}`, other => {
        const [a, b] = ordered(f.repo, other, f.commit);
        return explain(`${f.repo}@${a}:${f.path}`, `${f.repo}@${b}:${f.path}`, `Why: ${f.path.split('/').pop()}`)();
      });
    }
  });

  commands.addCommand(CommandIDs.compareCommits, {
    label: 'Compare with…',
    caption: 'Why did it change? Compare this commit with another one of the repo',
    execute: async args => {
      const a = argsOf(app, args, 'commit');
      if (!a.repo || !a.commit) {
        return;
      }
      await pickOther(a.repo, a.commit, `${a.repo}@${shortId(a.commit)}`, other => {
        const [x, y] = ordered(a.repo, other, a.commit);
        return explain(`${a.repo}@${x}`, `${a.repo}@${y}`, `Why: ${a.repo}@${shortId(y)}`)();
      });
    }
  });

  commands.addCommand(CommandIDs.explainVersions, {
    label: 'Why Did It Change?',
    caption: 'Compare two versions (old, new: repo@ref[:path]) through their lineages',
    execute: async args => {
      const older = String(args.old ?? '');
      const newer = String(args.new ?? '');
      if (older && newer) {
        const [repo, rest] = newer.split('@');
        await explain(older, newer, `Why: ${repo}@${shortId(rest.split(':')[0])}`)();
      }
    }
  });

  const branchArgs = (args: ReadonlyPartialJSONObject) => {
    const a = argsOf(app, args, 'repo');
    return a.repo ? { repo: a.repo, branch: a.branch || 'master', output: a.output === '1' } : null;
  };

  commands.addCommand(CommandIDs.showTimeline, {
    label: 'Show Branch Timeline',
    caption: 'Every move of the branch head, and which commit was live at a moment',
    execute: args => {
      const b = branchArgs(args);
      if (b) {
        open(`jupyter-pipes-timeline-${safeId(`${b.repo}@${b.branch}`)}`, `Timeline: ${b.repo}@${b.branch}`, () =>
          new TimelinePanel(model, commands, b.repo, b.branch)
        );
      }
    }
  });

  commands.addCommand(CommandIDs.showMetrics, {
    label: 'Show Metrics',
    caption: 'The metrics of each commit of this pipeline output, as a table and a plot',
    isVisible: args => {
      const b = branchArgs(args);
      const node = b ? model.dag.node(`repo:${b.repo}`) : undefined;
      return !!b && (b.output || (!!node && node.kind === 'repo' && !!node.output_of));
    },
    execute: args => {
      const b = branchArgs(args);
      if (b) {
        open(`jupyter-pipes-metrics-${safeId(`${b.repo}@${b.branch}`)}`, `Metrics: ${b.repo}@${b.branch}`, () =>
          new MetricsPanel(model, commands, b.repo, b.branch)
        );
      }
    }
  });
}
