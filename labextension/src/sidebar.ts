/**
 * The Tuning sidebar: the studies of the active notebook, live; apart, in a collapsed group, the studies of the
 * other notebooks of its folder (their files share the folder's .hptune/).
 */

import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { formatDuration, formatScore, sparklinePoints } from './format';
import { IStudyGroups, IStudyInfo } from './protocol';

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
  '<g class="jp-icon3" fill="#616161"><path d="M3 17h4v2H3zm0-6h10v2H3zm0-6h7v2H3zm10 12h8v2h-8zm6-6h2v2h-2zm-5-6h7v2h-7z"/>' +
  '<circle cx="10" cy="18" r="2.2"/><circle cx="16" cy="12" r="2.2"/><circle cx="12" cy="6" r="2.2"/></g></svg>';

export const tuneIcon = new LabIcon({ name: 'jupyter-hptune:tune', svgstr: ICON_SVG });

/** What the sidebar asks of whoever owns it. */
export interface ISidebarActions {
  stop(study: string): void;
  jump(study: IStudyInfo): void;
  /** A click on the study of another notebook (it has no cell in this one). */
  elsewhere(study: IStudyInfo): void;
  useBest(study: string): void;
  saveToCell(study: string): void;
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** One study's entry: its elements are made once and updated in place, so a click never meets a re-render. */
class StudyView {
  readonly node = element('li', 'hptune-study');
  private readonly name = element('span', 'hptune-study-name');
  private readonly method = element('span', 'hptune-study-method');
  private readonly state = element('span', 'hptune-study-state');
  private readonly counts = element('div', 'hptune-study-counts');
  private readonly score = element('span', 'hptune-study-score');
  private readonly sparkline = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  private readonly line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  private readonly params = element('div', 'hptune-study-params');
  private readonly stop = element('button', 'jp-Button hptune-stop', 'Stop');
  private readonly useBest = element('button', 'jp-Button hptune-use-best', 'Use best params');
  private readonly save = element('button', 'jp-Button hptune-save', 'Save to cell');
  private readonly notebook = element('div', 'hptune-study-notebook');
  private readonly buttons = element('div', 'hptune-study-buttons');
  study: IStudyInfo;
  /** Whether it is another notebook's study. */
  other = false;
  received = Date.now();
  private stopAsked = false;

  constructor(study: IStudyInfo, actions: ISidebarActions) {
    this.study = study;
    this.node.dataset.study = study.name;
    this.node.addEventListener('click', () => (this.other ? actions.elsewhere(this.study) : actions.jump(this.study)));
    const head = element('div', 'hptune-study-head');
    head.append(this.name, this.method, this.state);
    const best = element('div', 'hptune-study-best');
    this.sparkline.setAttribute('class', 'hptune-sparkline');
    this.sparkline.setAttribute('width', '80');
    this.sparkline.setAttribute('height', '18');
    this.sparkline.appendChild(this.line);
    best.append(this.score, this.sparkline);
    const buttons = this.buttons;
    const wire = (button: HTMLButtonElement, action: (name: string) => void) => {
      button.addEventListener('click', event => {
        event.stopPropagation();
        action(this.study.name);
      });
      buttons.appendChild(button);
    };
    wire(this.stop, name => {
      this.stopAsked = true; // the button stays disabled until the search ends
      this.stop.disabled = true;
      actions.stop(name);
    });
    wire(this.useBest, actions.useBest);
    wire(this.save, actions.saveToCell);
    this.node.append(head, this.notebook, this.counts, best, this.params, buttons);
    this.update(study);
  }

  /** Show it as this notebook's study, or as another notebook's (named, without buttons: they act on cells). */
  setOther(other: boolean): void {
    this.other = other;
    this.update(this.study);
  }

  update(study: IStudyInfo): void {
    if (study !== this.study) {
      this.received = Date.now();
    }
    this.study = study;
    this.node.className = `hptune-study hptune-state-${study.state}${this.other ? ' hptune-study-other' : ''}`;
    const from = study.notebook ? `run by ${study.notebook}` : 'notebook not recorded';
    this.notebook.textContent = this.other ? from : '';
    this.notebook.style.display = this.other ? '' : 'none';
    this.buttons.style.display = this.other ? 'none' : '';
    this.node.title = this.other
      ? `Study of another notebook (${from}): open that notebook to go to its %%tune cell`
      : 'Click to go to its %%tune cell';
    this.name.textContent = study.name;
    this.method.textContent = study.method;
    this.state.textContent = study.state;
    const running = study.state === 'running' || study.state === 'stopping';
    const counts = [`${study.done}/${study.planned} trials`];
    if (study.total > study.planned) {
      counts.push(`${study.total} in study`);
    }
    if (study.failed) {
      counts.push(`${study.failed} failed`);
    }
    if (study.pruned) {
      counts.push(`${study.pruned} pruned`);
    }
    const elapsed = study.elapsed + (running ? (Date.now() - this.received) / 1000 : 0);
    counts.push(formatDuration(elapsed));
    this.counts.textContent = counts.join(' · ');
    const arrow = study.direction === 'maximize' ? 'max' : 'min';
    this.score.textContent = `best ${formatScore(study.best_value)} (${arrow})`;
    const points = sparklinePoints(study.history, 80, 18);
    this.line.setAttribute('points', points);
    this.sparkline.style.display = points ? '' : 'none';
    this.params.textContent = Object.entries(study.best_params)
      .map(([name, value]) => `${name}=${value}`)
      .join(', ');
    this.stopAsked = this.stopAsked && running;
    this.stop.style.display = running ? '' : 'none';
    this.stop.disabled = study.state === 'stopping' || this.stopAsked;
    this.useBest.disabled = study.best_value === null;
  }
}

export class TuningSidebar extends Widget {
  private _views = new Map<string, StudyView>();
  private _list = element('ul', 'hptune-study-list');
  private _others = element('details', 'hptune-other-studies');
  private _othersTitle = element('summary', 'hptune-other-studies-title');
  private _othersList = element('ul', 'hptune-study-list hptune-other-list');
  private _empty = element('p', 'hptune-sidebar-empty');
  private _notice = element('div', 'hptune-sidebar-notice');
  private _source = '';
  private _timer: number | undefined;

  constructor(private readonly _actions: ISidebarActions) {
    super();
    this.id = 'jupyter-hptune-sidebar';
    this.addClass('hptune-sidebar');
    this.title.icon = tuneIcon;
    this.title.caption = 'Tuning: the studies of this notebook';
    this._notice.style.display = 'none';
    this._others.append(this._othersTitle, this._othersList);
    this.node.append(
      element('h2', 'hptune-sidebar-title', 'Tuning'),
      this._notice,
      this._empty,
      this._list,
      this._others
    );
    this.setStudies({ mine: [], others: [] }, '');
  }

  /** Show these studies, for the notebook named `source` (empty: no notebook): its own, and apart the others. */
  setStudies(groups: IStudyGroups, source: string): void {
    if (source !== this._source) {
      this._views.clear();
      this._list.replaceChildren();
      this._othersList.replaceChildren();
      this._others.open = false;
      this._source = source;
    }
    const studies = [...groups.mine, ...groups.others];
    const others = new Set(groups.others.map(s => s.name));
    const names = new Set(studies.map(s => s.name));
    for (const [name, view] of this._views) {
      if (!names.has(name)) {
        view.node.remove();
        this._views.delete(name);
      }
    }
    for (const study of studies) {
      const other = others.has(study.name);
      const list = other ? this._othersList : this._list;
      let view = this._views.get(study.name);
      if (view) {
        view.update(study);
      } else {
        view = new StudyView(study, this._actions);
        this._views.set(study.name, view);
      }
      if (view.other !== other) {
        view.setOther(other);
      }
      if (view.node.parentNode !== list) {
        list.appendChild(view.node); // only a new or moved entry: an entry is never re-inserted under a click
      }
    }
    this._othersTitle.textContent = `Other notebooks' studies in this folder (${groups.others.length})`;
    this._others.style.display = groups.others.length ? '' : 'none';
    this._empty.textContent = !source
      ? 'Open a notebook to see its studies.'
      : `No studies in ${source} yet: run %load_ext jupyter_hptune and a %%tune cell.`;
    this._empty.style.display = groups.mine.length ? 'none' : '';
    this.tick();
  }

  /** Show a message above the list (empty: none). */
  notify(text: string): void {
    this._notice.textContent = text;
    this._notice.style.display = text ? '' : 'none';
  }

  protected onBeforeDetach(): void {
    window.clearInterval(this._timer);
    this._timer = undefined;
  }

  protected onAfterAttach(): void {
    this.tick();
  }

  /** Keep running studies' elapsed time ticking, once a second. */
  private tick(): void {
    const running = [...this._views.values()].some(v => v.study.state === 'running' || v.study.state === 'stopping');
    if (running && this._timer === undefined && this.isAttached) {
      this._timer = window.setInterval(() => {
        for (const view of this._views.values()) {
          view.update(view.study);
        }
        this.tick();
      }, 1000);
    } else if (!running && this._timer !== undefined) {
      window.clearInterval(this._timer);
      this._timer = undefined;
    }
  }
}
