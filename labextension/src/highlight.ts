/** Highlighting of a %%tune cell's first line: the magic, its options and their values. */

import { RangeSetBuilder } from '@codemirror/state';
import { Decoration, DecorationSet, EditorView, ViewPlugin, ViewUpdate } from '@codemirror/view';

import { MAGIC } from './writeback';

export interface ISpan {
  from: number;
  to: number;
  className: string;
}

/** The highlighted spans of a cell's first line (none unless it starts with %%tune). */
export function tuneLineSpans(source: string): ISpan[] {
  const end = source.indexOf('\n') < 0 ? source.length : source.indexOf('\n');
  const line = source.slice(0, end);
  if (!line.startsWith(MAGIC) || (line.length > MAGIC.length && !/\s/.test(line[MAGIC.length]))) {
    return [];
  }
  const spans: ISpan[] = [{ from: 0, to: MAGIC.length, className: 'cm-hptune-magic' }];
  const token = /("[^"]*"?|'[^']*'?|[^\s"']+)+/g;
  token.lastIndex = MAGIC.length;
  for (let match = token.exec(line); match; match = token.exec(line)) {
    const text = match[0];
    const from = match.index;
    if (text.startsWith('--')) {
      const equals = text.indexOf('=');
      const to = equals < 0 ? from + text.length : from + equals;
      spans.push({ from, to, className: 'cm-hptune-option' });
      if (equals >= 0 && equals + 1 < text.length) {
        spans.push({ from: to + 1, to: from + text.length, className: 'cm-hptune-value' });
      }
    } else {
      spans.push({ from, to: from + text.length, className: 'cm-hptune-value' });
    }
  }
  return spans;
}

function decorations(view: EditorView): DecorationSet {
  const builder = new RangeSetBuilder<Decoration>();
  const first = view.state.doc.line(1).text;
  for (const span of tuneLineSpans(first)) {
    builder.add(span.from, span.to, Decoration.mark({ class: span.className }));
  }
  return builder.finish();
}

/** A CodeMirror extension marking the %%tune line of a cell. */
export const tuneLineHighlighter = ViewPlugin.fromClass(
  class {
    decorations: DecorationSet;

    constructor(view: EditorView) {
      this.decorations = decorations(view);
    }

    update(update: ViewUpdate): void {
      if (update.docChanged) {
        this.decorations = decorations(update.view);
      }
    }
  },
  { decorations: plugin => plugin.decorations }
);
