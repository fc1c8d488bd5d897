import * as fs from 'fs';
import * as path from 'path';
import { isDeepStrictEqual } from 'util';

import {
  FrontendMessage,
  IStudyInfo,
  PROTOCOL_VERSION,
  ProtocolError,
  applyStudies,
  groupStudies,
  parseKernelMessage,
  request
} from '../src/protocol';
import { bestParamsCell, rewriteCell, template } from '../src/writeback';

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
    expect(message).toEqual({ version: PROTOCOL_VERSION, type: 'studies', studies: [study()], kernel: null });
  });

  test('the kernel token and a study without a notebook (an older kernel) are read', () => {
    const { notebook, ...old } = study();
    expect(notebook).toBe('a.ipynb');
    const message = parseKernelMessage({ version: PROTOCOL_VERSION, type: 'studies', studies: [old], kernel: 'abc' });
    expect(message).toEqual({
      version: PROTOCOL_VERSION,
      type: 'studies',
      studies: [study({ notebook: null })],
      kernel: 'abc'
    });
    expect(() =>
      parseKernelMessage({ version: PROTOCOL_VERSION, type: 'study', study: study({ notebook: 3 as any }) })
    ).toThrow(/field "notebook" must be a string or null/);
  });

  test('another version is refused with what to do', () => {
    expect(() => parseKernelMessage({ version: 99, type: 'studies', studies: [] })).toThrow(
      /kernel speaks protocol version 99.*install the same jupyter-hptune/
    );
  });

  test.each([
    [{ ...study(), state: 'paused' }, 'field "state" must be one of'],
    [{ ...study(), done: -1 }, 'field "done" must be a count'],
    [{ ...study(), history: [1, 'x'] }, 'field "history" must be a list of numbers'],
    [{ ...study(), best_value: 'high' }, 'field "best_value" must be a number or null'],
    [{ ...study(), name: 3 }, 'field "name" must be a string']
  ])('a bad study is refused: %s', (bad, text) => {
    expect(() => parseKernelMessage({ version: PROTOCOL_VERSION, type: 'study', study: bad })).toThrow(text);
  });

  test('an unknown type is refused', () => {
    expect(() => parseKernelMessage({ version: PROTOCOL_VERSION, type: 'dance' })).toThrow(ProtocolError);
  });

  test('a write_cell request is checked field by field', () => {
    const line = { method: 'random', options: { '--method': 'random', '--trials': '10' }, defaults: {} };
    const ok = parseKernelMessage({
      version: PROTOCOL_VERSION,
      type: 'write_cell',
      study: 's',
      cell_id: null,
      line,
      params: { lr: { kind: 'real', low: '0.1', high: '1', log: false } }
    });
    expect(ok.type).toBe('write_cell');
    expect(() =>
      parseKernelMessage({
        version: PROTOCOL_VERSION,
        type: 'write_cell',
        study: 's',
        cell_id: null,
        line,
        params: { c: { kind: 'choice', options: [] } }
      })
    ).toThrow('hyperparameter "c": options must be a non-empty list');
    const write = (options: unknown) => () =>
      parseKernelMessage({
        version: PROTOCOL_VERSION,
        type: 'write_cell',
        study: 's',
        cell_id: null,
        line: { ...line, options },
        params: {}
      });
    expect(write({ trials: '10' })).toThrow('option "trials" must be a --flag');
    expect(write({ '--trials': 10 })).toThrow('option "--trials" must be a --flag whose value is a string');
  });
});

describe('applyStudies', () => {
  test('a study message updates its study in place and adds new ones at the end', () => {
    const list = [study({ name: 'a' }), study({ name: 'b' })];
    const updated = applyStudies(list, {
      version: PROTOCOL_VERSION,
      type: 'study',
      study: study({ name: 'a', done: 9 })
    });
    expect(updated.map(s => [s.name, s.done])).toEqual([
      ['a', 9],
      ['b', 3]
    ]);
    const added = applyStudies(updated, { version: PROTOCOL_VERSION, type: 'study', study: study({ name: 'c' }) });
    expect(added.map(s => s.name)).toEqual(['a', 'b', 'c']);
    expect(list.map(s => s.done)).toEqual([3, 3]);
  });

  test('a studies message replaces the list (a restarted kernel empties it)', () => {
    expect(applyStudies([study()], { version: PROTOCOL_VERSION, type: 'studies', studies: [], kernel: null })).toEqual(
      []
    );
  });
});

describe('request', () => {
  test('requests carry the version and the study', () => {
    expect(request('stop', 'svc')).toEqual({ version: PROTOCOL_VERSION, type: 'stop', study: 'svc' });
    expect(request('refresh')).toEqual({ version: PROTOCOL_VERSION, type: 'refresh' });
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
    expect(request('refresh', 'work/a.ipynb')).toEqual({
      version: PROTOCOL_VERSION,
      type: 'refresh',
      notebook: 'work/a.ipynb'
    });
    expect(request('refresh')).toEqual({ version: PROTOCOL_VERSION, type: 'refresh' });
  });
});

// The protocol as one contract, with tests/test_protocol.py: fixtures/kernel/<type>.json holds one real message of
// each kind the kernel sends (that test writes them), parsed here by the real parser; fixtures/frontend/<type>.json
// holds one request of each kind as request() builds it (written here), which the kernel's real Sidebar receives
// there. HPTUNE_UPDATE_FIXTURES=1 rewrites the files instead of comparing: commit them with the change.
const FIXTURES = path.join(__dirname, 'fixtures');
const UPDATE_FIXTURES = process.env.HPTUNE_UPDATE_FIXTURES === '1';

/** A message the kernel sends, parsed and checked: the parser reads every field the kernel sent, no more, no less. */
function fromKernel(type: string, name: string = type) {
  const file = path.join(FIXTURES, 'kernel', `${name}.json`);
  const data = JSON.parse(fs.readFileSync(file, 'utf8'));
  const message = parseKernelMessage(data);
  expect(message.type).toBe(type);
  expect(message).toEqual(data);
  return message;
}

describe('the messages the kernel sends (fixtures written by tests/test_protocol.py)', () => {
  test('studies: the kernel token, and each study as the sidebar lists it', () => {
    const message = fromKernel('studies');
    if (message.type !== 'studies') {
      throw new Error(message.type);
    }
    expect(message.kernel).toBe('kernel-token');
    const [saved, cell] = message.studies;
    expect(saved).toMatchObject({
      name: 'saved_search',
      cell_id: null,
      state: 'finished',
      notebook: 'other.ipynb',
      storage: '.hptune/saved_search.sqlite'
    });
    expect(cell).toMatchObject({
      name: 'svc_search',
      cell_id: 'cell-1',
      method: 'random',
      direction: 'maximize',
      state: 'finished',
      done: 6,
      planned: 6,
      total: 6,
      failed: 0,
      pruned: 0,
      notebook: 'tuning.ipynb'
    });
    expect(Object.keys(cell.best_params)).toEqual(['C', 'gamma', 'kernel']);
    expect(cell.history).toHaveLength(6);
    expect(cell.best_value).toBe(Math.max(...cell.history));
    const groups = groupStudies(message.studies, 'work/tuning.ipynb', new Set(['svc_search']));
    expect([groups.mine.map(s => s.name), groups.others.map(s => s.name)]).toEqual([['svc_search'], ['saved_search']]);
  });

  test('study: replaces its study in the list', () => {
    const message = fromKernel('study');
    if (message.type !== 'study') {
      throw new Error(message.type);
    }
    const listed = fromKernel('studies');
    const before = listed.type === 'studies' ? listed.studies : [];
    const after = applyStudies(before, message);
    expect(after.map(s => s.name)).toEqual(['saved_search', 'svc_search']);
    expect(after[1]).toBe(message.study);
    expect(message.study).toMatchObject({ state: 'finished', done: 6, planned: 6, cell_id: 'cell-1' });
  });

  test("write_cell: rewrites the template's %%tune line and the declarations that changed", () => {
    const message = fromKernel('write_cell');
    if (message.type !== 'write_cell') {
      throw new Error(message.type);
    }
    expect([message.study, message.cell_id]).toEqual(['svc_search', 'cell-1']);
    const before = template('svc_search').split('\n');
    const after = rewriteCell(template('svc_search'), message.line, message.params).split('\n');
    expect(after[0]).toBe('%%tune --method bayes --trials 30 --maximize --name svc_search --seed 7');
    const changed = after.filter((line, i) => line !== before[i]);
    expect(changed).toEqual([after[0], 'C = hp.real(0.1, 1e3, log=True)', 'kernel = hp.choice(["rbf"])']);
  });

  test('write_cell: an option a search method adds on the kernel side is written with no change here', () => {
    // Written by tests/test_options.py, where the bayes method declares one more option, xi.
    const message = fromKernel('write_cell', 'write_cell_added_option');
    if (message.type !== 'write_cell') {
      throw new Error(message.type);
    }
    const after = rewriteCell(template('svc_search'), message.line, message.params).split('\n');
    expect(after[0]).toBe('%%tune --method bayes --trials 30 --name svc_search --seed 7 --xi 0.2');
    const cleared = { ...message.line, options: { ...message.line.options, '--xi': '0.01' } };
    expect(rewriteCell(template('svc_search'), cleared, {}).split('\n')[0]).toBe(
      '%%tune --method bayes --trials 30 --name svc_search --seed 7'
    );
  });

  test('insert_cell: the best params replace the declarations of the template', () => {
    const message = fromKernel('insert_cell');
    if (message.type !== 'insert_cell') {
      throw new Error(message.type);
    }
    expect([message.study, message.cell_id]).toEqual(['svc_search', 'cell-1']);
    const cell = bestParamsCell(template('svc_search'), message.params).split('\n');
    expect(cell.filter(line => /^(C|gamma|kernel) = /.test(line))).toEqual([
      `C = ${message.params.C}`,
      `gamma = ${message.params.gamma}`,
      `kernel = ${message.params.kernel}`
    ]);
    expect(message.params.kernel).toMatch(/^'(rbf|sigmoid)'$/);
  });

  test('notice: a message for the user, not an error', () => {
    const message = fromKernel('notice');
    expect(message).toEqual({
      version: PROTOCOL_VERSION,
      type: 'notice',
      message: "Study 'svc_search' is not running.",
      error: false
    });
  });
});

describe('the requests the extension sends (fixtures read by tests/test_protocol.py)', () => {
  const requests: [string, FrontendMessage][] = [
    ['refresh', request('refresh', 'work/tuning.ipynb')],
    ['stop', request('stop', 'svc_search')],
    ['write_cell', request('write_cell', 'svc_search')],
    ['insert_cell', request('insert_cell', 'svc_search')]
  ];
  test.each(requests)('%s', (type, message) => {
    const file = path.join(FIXTURES, 'frontend', `${type}.json`);
    if (UPDATE_FIXTURES) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, JSON.stringify(message, null, 2) + '\n');
    }
    const written = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (!isDeepStrictEqual(written, message)) {
      throw new Error(
        `${file} differs from the ${type} request the extension sends: if the change is meant, rewrite it with ` +
          'HPTUNE_UPDATE_FIXTURES=1, commit it, and update jupyter_hptune/protocol.py to match\n' +
          `file: ${JSON.stringify(written)}\nsent: ${JSON.stringify(message)}`
      );
    }
  });
});
