import {
  IStudyInfo,
  PROTOCOL_VERSION,
  ProtocolError,
  applyStudies,
  groupStudies,
  parseKernelMessage,
  request
} from '../src/protocol';

const study = (changes: Partial<IStudyInfo> = {}): IStudyInfo => ({
  name: 'study',
  cell_id: 'c1',
  method: 'bayes',
  direction: 'maximize',
  state: 'running',
  done: 3,
  planned: 20,
  total: 3,
  failed: 0,
  pruned: 0,
  best_value: 0.91,
  best_params: { lr: '0.01' },
  elapsed: 4.5,
  history: [0.8, 0.9, 0.91],
  storage: '.hptune/study.sqlite',
  notebook: 'a.ipynb',
  ...changes
});

describe('parseKernelMessage', () => {
  test('a list of studies', () => {
    const message = parseKernelMessage({ version: PROTOCOL_VERSION, type: 'studies', studies: [study()] });
    expect(message).toEqual({ version: 1, type: 'studies', studies: [study()], kernel: null });
  });

  test('the kernel token and a study without a notebook (an older kernel) are read', () => {
    const { notebook, ...old } = study();
    expect(notebook).toBe('a.ipynb');
    const message = parseKernelMessage({ version: 1, type: 'studies', studies: [old], kernel: 'abc' });
    expect(message).toEqual({ version: 1, type: 'studies', studies: [study({ notebook: null })], kernel: 'abc' });
    expect(() => parseKernelMessage({ version: 1, type: 'study', study: study({ notebook: 3 as any }) })).toThrow(
      /field "notebook" must be a string or null/
    );
  });

  test('another version is refused with what to do', () => {
    expect(() => parseKernelMessage({ version: 2, type: 'studies', studies: [] })).toThrow(
      /kernel speaks protocol version 2.*install the same jupyter-hptune/
    );
  });

  test.each([
    [{ ...study(), state: 'paused' }, 'field "state" must be one of'],
    [{ ...study(), done: -1 }, 'field "done" must be a count'],
    [{ ...study(), history: [1, 'x'] }, 'field "history" must be a list of numbers'],
    [{ ...study(), best_value: 'high' }, 'field "best_value" must be a number or null'],
    [{ ...study(), name: 3 }, 'field "name" must be a string']
  ])('a bad study is refused: %s', (bad, text) => {
    expect(() => parseKernelMessage({ version: 1, type: 'study', study: bad })).toThrow(text);
  });

  test('an unknown type is refused', () => {
    expect(() => parseKernelMessage({ version: 1, type: 'dance' })).toThrow(ProtocolError);
  });

  test('a write_cell request is checked field by field', () => {
    const line = { method: 'random', trials: 10, direction: 'minimize', seed: null, options: {} };
    const ok = parseKernelMessage({
      version: 1,
      type: 'write_cell',
      study: 's',
      cell_id: null,
      line,
      params: { lr: { kind: 'real', low: '0.1', high: '1', log: false } }
    });
    expect(ok.type).toBe('write_cell');
    expect(() =>
      parseKernelMessage({
        version: 1,
        type: 'write_cell',
        study: 's',
        cell_id: null,
        line,
        params: { c: { kind: 'choice', options: [] } }
      })
    ).toThrow('hyperparameter "c": options must be a non-empty list');
  });
});

describe('applyStudies', () => {
  test('a study message updates its study in place and adds new ones at the end', () => {
    const list = [study({ name: 'a' }), study({ name: 'b' })];
    const updated = applyStudies(list, { version: 1, type: 'study', study: study({ name: 'a', done: 9 }) });
    expect(updated.map(s => [s.name, s.done])).toEqual([
      ['a', 9],
      ['b', 3]
    ]);
    const added = applyStudies(updated, { version: 1, type: 'study', study: study({ name: 'c' }) });
    expect(added.map(s => s.name)).toEqual(['a', 'b', 'c']);
    expect(list.map(s => s.done)).toEqual([3, 3]);
  });

  test('a studies message replaces the list (a restarted kernel empties it)', () => {
    expect(applyStudies([study()], { version: 1, type: 'studies', studies: [], kernel: null })).toEqual([]);
  });
});

describe('request', () => {
  test('requests carry the version and the study', () => {
    expect(request('stop', 'svc')).toEqual({ version: 1, type: 'stop', study: 'svc' });
    expect(request('refresh')).toEqual({ version: 1, type: 'refresh' });
    expect(() => request('stop', '')).toThrow('needs a study name');
  });
});

describe('groupStudies', () => {
  test("this notebook's studies apart from the other notebooks' of its folder", () => {
    const studies = [
      study({ name: 'ran_here', cell_id: 'c1', notebook: 'b.ipynb' }), // run by this kernel: ours, whatever the file said
      study({ name: 'saved_here', cell_id: null, notebook: 'a.ipynb' }),
      study({ name: 'theirs', cell_id: null, notebook: 'b.ipynb' }),
      study({ name: 'old_with_cell', cell_id: null, notebook: null }),
      study({ name: 'old_elsewhere', cell_id: null, notebook: null })
    ];
    const groups = groupStudies(studies, 'work/a.ipynb', new Set(['old_with_cell', 'saved_here']));
    expect(groups.mine.map(s => s.name)).toEqual(['ran_here', 'saved_here', 'old_with_cell']);
    expect(groups.others.map(s => s.name)).toEqual(['theirs', 'old_elsewhere']);
  });

  test('a refresh request may name the notebook', () => {
    expect(request('refresh', 'work/a.ipynb')).toEqual({ version: 1, type: 'refresh', notebook: 'work/a.ipynb' });
    expect(request('refresh')).toEqual({ version: 1, type: 'refresh' });
  });
});
