/**
 * Job control from the sidebar (#12): stop a queued or running job, from its row's menu or
 * its detail. A stop also kills the jobs of the same global commit downstream of it (the
 * server answers them), so the dialog says so before anything happens.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import React from 'react';

import { CommandIDs } from './commandIds';
import { shortId } from './format';
import { showForm } from './forms';
import { argsOf } from './menus';
import { PipesModel } from './model';

/** The job states a stop applies to (the server refuses the others: the job is done). */
export const STOPPABLE = ['created', 'running'];

/** Ask, then stop `job` of `pipeline`; resolves with the ids of the jobs stopped (or null). */
export async function stopJobDialog(
  model: PipesModel,
  job: string,
  pipeline: string
): Promise<string[] | null> {
  const stopped = await showForm({
    title: `Stop job ${shortId(job)} of ${pipeline}?`,
    accept: 'Stop job',
    warn: true,
    intro: (
      <p>
        The job ends <strong>killed</strong>: its running datums are cancelled and nothing is
        committed to <strong>{pipeline}</strong>. Jobs of the same change downstream of it are
        stopped too.
      </p>
    ),
    fields: [],
    submit: async () => (await model.jobs.stop(job)).map(j => j.id)
  });
  if (stopped) {
    const others = stopped.length - 1;
    Notification.success(
      `Stopped job ${shortId(job)} of ${pipeline}` +
        (others > 0 ? ` and ${others} job${others === 1 ? '' : 's'} downstream` : ''),
      { autoClose: 3000 }
    );
  }
  return stopped;
}

export function addJobControlCommands(app: JupyterFrontEnd, model: PipesModel): void {
  app.commands.addCommand(CommandIDs.stopJob, {
    label: 'Stop Job…',
    caption: 'Kill a queued or running job (and its downstream jobs of the same change); asks first',
    isEnabled: args => STOPPABLE.includes(argsOf(app, args, 'job').state ?? ''),
    execute: args => {
      const a = argsOf(app, args, 'job');
      return a.job ? stopJobDialog(model, a.job, a.pipeline || 'its pipeline') : undefined;
    }
  });
}
