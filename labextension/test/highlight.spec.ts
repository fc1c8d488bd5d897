import { tuneLineSpans } from '../src/highlight';

/** The marked spans of a cell as [class without its cm-hptune- prefix, text marked]. */
const marked = (source: string): [string, string][] =>
  tuneLineSpans(source).map(span => [span.className.replace('cm-hptune-', ''), source.slice(span.from, span.to)]);

describe('the %%tune line highlighter', () => {
  test('the magic, each option and each value of the first line', () => {
    expect(marked('%%tune --method bayes --trials 20 --maximize\nx = hp.real(0, 1)\nx')).toEqual([
      ['magic', '%%tune'],
      ['option', '--method'],
      ['value', 'bayes'],
      ['option', '--trials'],
      ['value', '20'],
      ['option', '--maximize']
    ]);
  });

  test('an option=value: the option and the value apart, not the equals sign', () => {
    const source = '%%tune --trials=20 --name=svc';
    expect(marked(source)).toEqual([
      ['magic', '%%tune'],
      ['option', '--trials'],
      ['value', '20'],
      ['option', '--name'],
      ['value', 'svc']
    ]);
    expect(tuneLineSpans(source).slice(1, 3)).toEqual([
      { from: 7, to: 15, className: 'cm-hptune-option' },
      { from: 16, to: 18, className: 'cm-hptune-value' }
    ]);
  });

  test('a quoted value with spaces is one value, quotes included', () => {
    expect(marked('%%tune --method manual --point "lr=0.1, kind=\'a b\'" --name m')).toEqual([
      ['magic', '%%tune'],
      ['option', '--method'],
      ['value', 'manual'],
      ['option', '--point'],
      ['value', '"lr=0.1, kind=\'a b\'"'],
      ['option', '--name'],
      ['value', 'm']
    ]);
  });

  test('an unclosed quote runs to the end of the line', () => {
    expect(marked('%%tune --point "x=1, y=2\nz')).toEqual([
      ['magic', '%%tune'],
      ['option', '--point'],
      ['value', '"x=1, y=2']
    ]);
  });

  test('a bare %%tune, and an option with nothing after its equals sign', () => {
    expect(marked('%%tune')).toEqual([['magic', '%%tune']]);
    expect(marked('%%tune   \nx')).toEqual([['magic', '%%tune']]);
    expect(marked('%%tune --seed=')).toEqual([
      ['magic', '%%tune'],
      ['option', '--seed']
    ]);
  });

  test.each([
    ['another magic', '%%time\nx = 1'],
    ['a longer magic name', '%%tuned --trials 3\nx'],
    ['%%tune not on the first line', 'x = 1\n%%tune --trials 3'],
    ['indented', '  %%tune --trials 3'],
    ['an empty cell', '']
  ])('nothing is marked in %s', (_, source) => {
    expect(tuneLineSpans(source)).toEqual([]);
  });

  test('the other lines of the cell are never marked', () => {
    const source = '%%tune --trials 3\n--method = 1\n"quoted"';
    const firstLine = source.indexOf('\n');
    expect(tuneLineSpans(source).every(span => span.to <= firstLine)).toBe(true);
  });
});
