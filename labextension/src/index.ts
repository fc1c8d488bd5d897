/** jupyter-hptune's JupyterLab plugin: the Tuning sidebar, the %%tune cell commands and write-back. */

import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { Cell } from '@jupyterlab/cells';
import { EditorExtensionRegistry, IEditorExtensionRegistry } from '@jupyterlab/codemirror';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { CommandToolbarButton } from '@jupyterlab/ui-components';

import { tuneLineHighlighter } from './highlight';
import { KernelLink } from './link';
import { IStudyInfo, KernelMessage, fileName, groupStudies, request } from './protocol';
import { TuningSidebar, tuneIcon } from './sidebar';
import { markPanels, watchPanels } from './stale';
import { bestParamsCell, freshStudyName, isTuneCell, rewriteCell, studyName, template } from './writeback';

export const INSERT_COMMAND = 'jupyter-hptune:insert-tune-cell';

export const LOAD_EXT = '%load_ext jupyter_hptune';

function findCell(panel: NotebookPanel, study: string, cellId: string | null): Cell | null {
  const cells = panel.content.widgets;
  if (cellId) {
    const byId = cells.find(cell => cell.model.id === cellId);
    if (byId && isTuneCell(byId.model.sharedModel.getSource())) {
      return byId;
    }
  }
  // A study reloaded from its file, or a cell since re-created: the %%tune cell of that --name.
  return cells.find(cell => studyName(cell.model.sharedModel.getSource()) === study) ?? null;
}

function insertTuneCell(panel: NotebookPanel): void {
  const notebook = panel.content;
  const model = notebook.model;
  if (!model) {
    return;
  }
  const sources = notebook.widgets.map(cell => cell.model.sharedModel.getSource());
  const loaded = sources.some(source => /^\s*%load_ext\s+jupyter_hptune\b/m.test(source));
  const at = notebook.activeCellIndex + 1;
  const cells = [...(loaded ? [] : [LOAD_EXT]), template(freshStudyName(sources))].map(source => ({
    cell_type: 'code',
    source
  }));
  model.sharedModel.insertCells(Math.min(at, model.cells.length), cells);
  notebook.activeCellIndex = Math.min(at, model.cells.length - 1) + (loaded ? 0 : 1);
  notebook.mode = 'command';
  void notebook.scrollToItem(notebook.activeCellIndex);
}

function applyKernelMessage(panel: NotebookPanel, message: KernelMessage): void {
  if (message.type === 'notice') {
    if (message.error) {
      Notification.error(message.message, { autoClose: 6000 });
    } else {
      Notification.info(message.message, { autoClose: 4000 });
    }
    return;
  }
  if (message.type !== 'write_cell' && message.type !== 'insert_cell') {
    return;
  }
  const cell = findCell(panel, message.study, message.cell_id);
  if (!cell) {
    Notification.error(`No %%tune cell of study "${message.study}" in ${panel.context.path}.`, { autoClose: 6000 });
    return;
  }
  const source = cell.model.sharedModel.getSource();
  try {
    if (message.type === 'write_cell') {
      const rewritten = rewriteCell(source, message.line, message.params);
      if (rewritten === source) {
        Notification.info(`The cell of study "${message.study}" already runs this search.`, { autoClose: 3000 });
        return;
      }
      cell.model.sharedModel.setSource(rewritten);
      Notification.success(
        `Saved the panel's search to the cell of study "${message.study}" (undo: Ctrl+Z in the cell).`,
        {
          autoClose: 4000
        }
      );
    } else {
      const text = bestParamsCell(source, message.params, `# The best params of study "${message.study}"`);
      const notebook = panel.content;
      const index = notebook.widgets.indexOf(cell) + 1;
      notebook.model?.sharedModel.insertCell(index, { cell_type: 'code', source: text });
      notebook.activeCellIndex = index;
      void notebook.scrollToItem(index);
    }
  } catch (error) {
    Notification.error(`jupyter-hptune: ${(error as Error).message}`, { autoClose: 8000 });
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-hptune:plugin',
  description:
    'A Tuning sidebar for %%tune studies, commands to insert %%tune cells, and write-back of tuned settings.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, IEditorExtensionRegistry, ILabShell],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    extensions: IEditorExtensionRegistry | null,
    labShell: ILabShell | null
  ) => {
    const links = new Map<NotebookPanel, KernelLink>();
    const current = (): [NotebookPanel, KernelLink] | null => {
      const panel = tracker.currentWidget;
      const link = panel ? links.get(panel) : undefined;
      return panel && link ? [panel, link] : null;
    };
    const send = (type: 'stop' | 'write_cell' | 'insert_cell', study: string) => {
      const found = current();
      if (!found || !found[1].send(request(type, study))) {
        Notification.error('jupyter-hptune is not loaded in this kernel: run %load_ext jupyter_hptune.', {
          autoClose: 5000
        });
      }
    };
    const sidebar = new TuningSidebar({
      stop: study => send('stop', study),
      useBest: study => send('insert_cell', study),
      saveToCell: study => send('write_cell', study),
      jump: (study: IStudyInfo) => {
        const found = current();
        const cell = found && findCell(found[0], study.name, study.cell_id);
        if (!found || !cell) {
          Notification.warning(`No %%tune cell of study "${study.name}" in this notebook.`, { autoClose: 4000 });
          return;
        }
        const notebook = found[0].content;
        notebook.activeCellIndex = notebook.widgets.indexOf(cell);
        notebook.mode = 'command';
        void notebook.scrollToCell(cell, 'start');
        app.shell.activateById(found[0].id);
      },
      elsewhere: (study: IStudyInfo) => {
        const where = study.notebook
          ? `was run by ${study.notebook}`
          : 'is from a file that does not say which notebook ran it';
        Notification.info(
          `Study "${study.name}" ${where}, not by this notebook: open that notebook to go to its %%tune cell.`,
          { autoClose: 5000 }
        );
      }
    });
    const refresh = () => {
      const found = current();
      if (!found) {
        sidebar.setStudies({ mine: [], others: [] }, '');
        return;
      }
      const [panel, link] = found;
      const cells = new Set<string>();
      for (const cell of panel.content.widgets) {
        const name = studyName(cell.model.sharedModel.getSource());
        if (name) {
          cells.add(name);
        }
      }
      sidebar.setStudies(groupStudies(link.studies, panel.context.path, cells), fileName(panel.context.path));
    };
    app.shell.add(sidebar, labShell ? 'left' : 'right', { rank: 650 });

    tracker.widgetAdded.connect((_, panel) => {
      const link = new KernelLink(panel.sessionContext, () => panel.context.path);
      links.set(panel, link);
      link.changed.connect(() => {
        markPanels(panel.content.node, link.kernelToken);
        if (tracker.currentWidget === panel) {
          refresh();
        }
      });
      const unwatch = watchPanels(panel.content.node, () => link.kernelToken);
      panel.context.pathChanged.connect(() => {
        link.send(request('refresh', panel.context.path)); // a renamed notebook: its kernel records the new name
        if (tracker.currentWidget === panel) {
          refresh();
        }
      });
      link.message.connect((_, message) => applyKernelMessage(panel, message));
      link.problem.connect((_, text) => sidebar.notify(text));
      panel.disposed.connect(() => {
        unwatch();
        link.dispose();
        links.delete(panel);
        refresh();
      });
      panel.toolbar.insertAfter(
        'cellType',
        'jupyter-hptune-insert',
        new CommandToolbarButton({ commands: app.commands, id: INSERT_COMMAND, label: '' })
      );
    });
    tracker.currentChanged.connect(refresh);

    app.commands.addCommand(INSERT_COMMAND, {
      label: 'Insert %%tune cell',
      caption: 'Insert a %%tune cell below (and %load_ext jupyter_hptune above it if the notebook has none)',
      icon: tuneIcon,
      isEnabled: () => tracker.currentWidget !== null,
      execute: () => {
        const panel = tracker.currentWidget;
        if (panel) {
          insertTuneCell(panel);
        }
      }
    });
    palette?.addItem({ command: INSERT_COMMAND, category: 'Notebook Operations' });
    app.contextMenu.addItem({ command: INSERT_COMMAND, selector: '.jp-Notebook .jp-Cell', rank: 15 });

    extensions?.addExtension({
      name: 'jupyter-hptune:tune-line',
      factory: () => EditorExtensionRegistry.createImmutableExtension(tuneLineHighlighter)
    });
    refresh();
  }
};

export default plugin;
