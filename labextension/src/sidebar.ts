/** The Tuning sidebar: the studies of the active notebook's kernel, live. */

import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { IStudyInfo } from './protocol';

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
  '<g class="jp-icon3" fill="#616161"><path d="M3 17h4v2H3zm0-6h10v2H3zm0-6h7v2H3zm10 12h8v2h-8zm6-6h2v2h-2zm-5-6h7v2h-7z"/>' +
  '<circle cx="10" cy="18" r="2.2"/><circle cx="16" cy="12" r="2.2"/><circle cx="12" cy="6" r="2.2"/></g></svg>';

export const tuneIcon = new LabIcon({ name: 'jupyter-hptune:tune', svgstr: ICON_SVG });

/** What the sidebar asks of whoever owns it. */
export interface ISidebarActions {
  stop(study: string): void;
  jump(study: IStudyInfo): void;
  useBest(study: string): void;
  saveToCell(study: string): void;
}

/** Seconds as m:ss or h:mm:ss. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const two = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) {
    return `${Math.floor(s / 60)}:${two(s % 60)}`;
  }
  return `${Math.floor(s / 3600)}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`;
}

/** A score in 4 significant digits. */
export function formatScore(value: number | null): string {
  return value === null ? '–' : Number(value.toPrecision(4)).toString();
}

/** The SVG polyline points of a best-so-far sparkline, or '' with fewer than two values. */
export function sparklinePoints(values: number[], width: number, height: number): string {
  if (values.length < 2) {
    return '';
  }
  const low = Math.min(...values);
  const high = Math.max(...values);
  const span = high - low || 1;
  return values
    .map((v, i) => {
      const x = (i / (values.length - 1)) * width;
      const y = height - 1 - ((v - low) / span) * (height - 2);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

export class TuningSidebar extends Widget {
  private _studies: IStudyInfo[] = [];
  private _received = new Map<string, number>();
  private _kernelName = '';
  private _notice = '';
  private _timer: number | undefined;

  constructor(private readonly _actions: ISidebarActions) {
    super();
    this.id = 'jupyter-hptune-sidebar';
    this.addClass('hptune-sidebar');
    this.title.icon = tuneIcon;
    this.title.caption = 'Tuning: the studies of this notebook';
    this.render();
  }

  /** Show these studies, for the notebook named `source` (empty: no notebook). */
  setStudies(studies: IStudyInfo[], source: string): void {
    const now = Date.now();
    for (const study of studies) {
      const previous = this._studies.find(s => s.name === study.name);
      if (previous !== study) {
        this._received.set(study.name, now);
      }
    }
    this._studies = studies;
    this._kernelName = source;
    this.render();
  }

  /** Show a message above the list (empty: none). */
  notify(text: string): void {
    this._notice = text;
    this.render();
  }

  get studies(): readonly IStudyInfo[] {
    return this._studies;
  }

  protected onBeforeDetach(): void {
    window.clearInterval(this._timer);
    this._timer = undefined;
  }

  render(): void {
    const node = this.node;
    node.replaceChildren();
    node.appendChild(element('h2', 'hptune-sidebar-title', 'Tuning'));
    if (this._notice) {
      node.appendChild(element('div', 'hptune-sidebar-notice', this._notice));
    }
    if (!this._kernelName) {
      node.appendChild(element('p', 'hptune-sidebar-empty', 'Open a notebook to see its studies.'));
    } else if (!this._studies.length) {
      node.appendChild(
        element(
          'p',
          'hptune-sidebar-empty',
          `No studies in ${this._kernelName} yet: run %load_ext jupyter_hptune and a %%tune cell.`
        )
      );
    }
    const list = element('ul', 'hptune-study-list');
    for (const study of this._studies) {
      list.appendChild(this.renderStudy(study));
    }
    node.appendChild(list);
    const running = this._studies.some(s => s.state === 'running' || s.state === 'stopping');
    if (running && this._timer === undefined) {
      this._timer = window.setInterval(() => this.render(), 1000);
    } else if (!running && this._timer !== undefined) {
      window.clearInterval(this._timer);
      this._timer = undefined;
    }
  }

  private renderStudy(study: IStudyInfo): HTMLLIElement {
    const item = element('li', `hptune-study hptune-state-${study.state}`);
    item.dataset.study = study.name;
    item.title = 'Click to go to its %%tune cell';
    item.addEventListener('click', () => this._actions.jump(study));

    const head = element('div', 'hptune-study-head');
    head.appendChild(element('span', 'hptune-study-name', study.name));
    head.appendChild(element('span', 'hptune-study-method', study.method));
    head.appendChild(element('span', `hptune-study-state`, study.state));
    item.appendChild(head);

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
    let elapsed = study.elapsed;
    if (study.state === 'running' || study.state === 'stopping') {
      elapsed += (Date.now() - (this._received.get(study.name) ?? Date.now())) / 1000;
    }
    counts.push(formatDuration(elapsed));
    item.appendChild(element('div', 'hptune-study-counts', counts.join(' · ')));

    const best = element('div', 'hptune-study-best');
    const arrow = study.direction === 'maximize' ? 'max' : 'min';
    best.appendChild(element('span', 'hptune-study-score', `best ${formatScore(study.best_value)} (${arrow})`));
    const points = sparklinePoints(study.history, 80, 18);
    if (points) {
      const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
      svg.setAttribute('class', 'hptune-sparkline');
      svg.setAttribute('width', '80');
      svg.setAttribute('height', '18');
      const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
      line.setAttribute('points', points);
      svg.appendChild(line);
      best.appendChild(svg);
    }
    item.appendChild(best);
    const params = Object.entries(study.best_params)
      .map(([name, value]) => `${name}=${value}`)
      .join(', ');
    if (params) {
      item.appendChild(element('div', 'hptune-study-params', params));
    }

    const buttons = element('div', 'hptune-study-buttons');
    const button = (label: string, className: string, action: () => void, disabled = false) => {
      const b = element('button', `jp-Button hptune-${className}`, label);
      b.disabled = disabled;
      b.addEventListener('click', event => {
        event.stopPropagation();
        action();
      });
      buttons.appendChild(b);
    };
    if (study.state === 'running' || study.state === 'stopping') {
      button('Stop', 'stop', () => this._actions.stop(study.name), study.state === 'stopping');
    }
    button('Use best params', 'use-best', () => this._actions.useBest(study.name), study.best_value === null);
    button('Save to cell', 'save', () => this._actions.saveToCell(study.name));
    item.appendChild(buttons);
    return item;
  }
}
