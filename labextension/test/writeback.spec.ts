import {
  bestParamsCell,
  findDeclarations,
  freshStudyName,
  isTuneCell,
  rewriteCell,
  rewriteTuneLine,
  studyName,
  template
} from '../src/writeback';
import { IParamSpec, ITuneLine } from '../src/protocol';

/** A search as the panel describes it, before the kernel turns it into a line's options. */
interface ISearch {
  method: string;
  trials: number | null;
  direction: 'minimize' | 'maximize';
  seed: number | null;
  options: Record<string, string | number | null>;
  point: string | null;
}

const DEFAULTS = { '--method': 'bayes', '--acq': 'EI', '--grid-points': '5', '--prune': 'none' };

/** The line the kernel asks for (protocol.tune_line): every option by flag, in the magic's order. */
function tuneLine(search: ISearch): ITuneLine {
  const text = (value: string | number | null | undefined) =>
    value === null || value === undefined ? null : String(value);
  const options: ITuneLine['options'] = { '--method': search.method, '--trials': text(search.trials) };
  options['--maximize'] = search.direction === 'maximize';
  if (search.direction === 'maximize') {
    options['--minimize'] = false;
  }
  options['--seed'] = text(search.seed);
  for (const name of ['acq', 'initial_points', 'grid_points', 'prune', 'patience', 'max_steps']) {
    options[`--${name.replace('_', '-')}`] = text(search.options[name]);
  }
  return { method: search.method, options, defaults: DEFAULTS, point: search.point };
}

const bayes = (changes: Partial<ISearch> = {}): ITuneLine =>
  tuneLine({
    method: 'bayes',
    trials: 20,
    direction: 'minimize',
    seed: null,
    options: { acq: 'EI', initial_points: null },
    point: null,
    ...changes
  });

const real = (low: string, high: string, log = false, drop_default = false): IParamSpec => ({
  kind: 'real',
  low,
  high,
  log,
  drop_default
});

describe('rewriteTuneLine', () => {
  const table: [string, ITuneLine, string][] = [
    ['', bayes({ trials: null }), ''],
    ['', bayes(), ' --trials 20'],
    [' --trials 30', bayes(), ' --trials 20'],
    [' --method random --trials 30', bayes(), ' --method bayes --trials 20'],
    ['  --trials=30   --maximize', bayes({ direction: 'maximize' }), '  --trials=20   --maximize'],
    [' --maximize --trials 5', bayes({ trials: 5 }), ' --trials 5'],
    [' --minimize --trials 5', bayes({ trials: 5, direction: 'maximize' }), ' --trials 5 --maximize'],
    [' --trials 5 --seed 3', bayes({ trials: 5, seed: null }), ' --trials 5'],
    [' --trials 5', bayes({ trials: 5, seed: 7 }), ' --trials 5 --seed 7'],
    [
      ' --trials 5 --acq PI',
      bayes({ trials: 5, options: { acq: 'LCB', initial_points: 3 } }),
      ' --trials 5 --acq LCB --initial-points 3'
    ],
    [' --trials 5 --acq PI', bayes({ trials: 5 }), ' --trials 5 --acq EI'],
    [
      ' --method grid --grid-points 4 --name svc',
      bayes({ method: 'random', trials: 10, options: {} }),
      ' --method random --name svc --trials 10'
    ],
    [
      ' --method manual --point "lr=0.1, units=3" --name s',
      bayes({ method: 'grid', trials: null, options: { grid_points: 3 } }),
      ' --method grid --name s --grid-points 3'
    ],
    [' --method random --trials 9', bayes({ method: 'manual', trials: null, options: {} }), ' --method manual'],
    [
      ' --method random --trials 9 --seed 2',
      bayes({ method: 'manual', trials: null, options: {}, point: "lr=0.01, kind='c'" }),
      ' --method manual --point "lr=0.01, kind=\'c\'"'
    ],
    [
      ' --method manual --point "x=1" --point "x=2" --name m',
      bayes({ method: 'manual', trials: null, options: {}, point: 'x=3, s="a"' }),
      ' --method manual --name m --point \'x=3, s="a"\''
    ],
    [' --name nn --storage none --no-panel', bayes({ trials: 8 }), ' --name nn --storage none --no-panel --trials 8'],
    [
      ' --trials 8 --prune median --patience 3',
      bayes({ trials: 8, options: { acq: 'EI', prune: 'hyperband', patience: null, max_steps: 30 } }),
      ' --trials 8 --prune hyperband --max-steps 30'
    ],
    [' --trials 8 --prune median', bayes({ trials: 8, options: { prune: null } }), ' --trials 8'],
    [' --trials 8 --prune median', bayes({ trials: 8, options: { prune: 'none' } }), ' --trials 8 --prune none'],
    [' --trials 8', bayes({ trials: 8, options: { acq: 'EI', prune: 'none', grid_points: null } }), ' --trials 8']
  ];
  test.each(table)('%j', (line, wanted, expected) => {
    expect(rewriteTuneLine(line, wanted)).toBe(expected);
  });
});

describe('rewriteCell', () => {
  const cell = (line: string, body: string) => `%%tune${line}\n${body}`;
  const table: [string, string, Record<string, IParamSpec>, string][] = [
    [
      'a declaration in a loop, found by its line: one range for every layer',
      'n = hp.int(1, 3)\nwidths = [hp.int(8, 64, log=True, name=f"units_{i}") for i in range(n)]\nsum(widths)',
      { 'line 3': { ...real('16', '64', true), kind: 'int', line: 3 } },
      'n = hp.int(1, 3)\nwidths = [hp.int(16, 64, log=True, name=f"units_{i}") for i in range(n)]\nsum(widths)'
    ],
    [
      'a plain declaration',
      'lr = hp.real(0.001, 0.1)\nlr * 2',
      { lr: real('0.01', '0.05') },
      'lr = hp.real(0.01, 0.05)\nlr * 2'
    ],
    [
      'odd spacing and a trailing comment',
      'lr   =hp.real( 1e-4 ,  1e-1 ,log=True )   # learning rate\nlr',
      { lr: real('0.001', '0.1', true) },
      'lr   =hp.real( 0.001 ,  1e-1 ,log=True )   # learning rate\nlr'
    ],
    ['log switched on', 'c = hp.real(0.1, 10)\nc', { c: real('0.1', '10', true) }, 'c = hp.real(0.1, 10, log=True)\nc'],
    [
      'log switched off',
      'c = hp.real(0.1, 10, log=True, default=1.0)\nc',
      { c: real('0.1', '10', false) },
      'c = hp.real(0.1, 10, default=1.0)\nc'
    ],
    [
      'positional log switched off keeps the positional default',
      'c = hp.real(0.1, 10, True, 1.0)\nc',
      { c: real('0.5', '10', false) },
      'c = hp.real(0.5, 10, False, 1.0)\nc'
    ],
    [
      'a default outside the new range is dropped',
      'c = hp.real(0.1, 10, default=0.2)\nc',
      { c: real('1.0', '10', false, true) },
      'c = hp.real(1.0, 10)\nc'
    ],
    [
      'a multi-line call with comments inside',
      'units = hp.int(\n    16,  # small\n    256,  # large\n    log=True,\n)\nunits',
      { units: real('32', '128', true) && { kind: 'int', low: '32', high: '128', log: true } },
      'units = hp.int(\n    32,  # small\n    128,  # large\n    log=True,\n)\nunits'
    ],
    [
      'keyword bounds in another order',
      'x = hp.real(high=5.0, low=-5.0)\nx',
      { x: real('-1.0', '2.0') },
      'x = hp.real(high=2.0, low=-1.0)\nx'
    ],
    [
      'choice options narrowed, a default that stays',
      "act = hp.choice(['relu', 'tanh', 'logistic'], default='tanh')\nact",
      { act: { kind: 'choice', options: ["'relu'", "'tanh'"] } },
      "act = hp.choice(['relu', 'tanh'], default='tanh')\nact"
    ],
    [
      'choice options keep the quotes the cell wrote',
      'act = hp.choice(["relu", "tanh", "logistic"])\nact',
      { act: { kind: 'choice', options: ["'relu'", "'logistic'"] } },
      'act = hp.choice(["relu", "logistic"])\nact'
    ],
    [
      'a tuple of options narrowed to one keeps being a tuple',
      'size = hp.choice(((64,), (64, 32), 128))\nsize',
      { size: { kind: 'choice', options: ['(64, 32)'] } },
      'size = hp.choice(((64, 32),))\nsize'
    ],
    [
      'choice from a notebook variable, default dropped',
      'model = hp.choice(MODELS, default="svc")  # which model\nmodel',
      { model: { kind: 'choice', options: ["'rf'", '3', 'None'], drop_default: true } },
      "model = hp.choice(['rf', 3, None])  # which model\nmodel"
    ],
    [
      'an alias and a declaration inside an if',
      'import jupyter_hptune as jh\nif True:\n    depth = jh.hp.int(1, 8)\ndepth',
      { depth: { kind: 'int', low: '2', high: '4', log: false } },
      'import jupyter_hptune as jh\nif True:\n    depth = jh.hp.int(2, 4)\ndepth'
    ],
    [
      'a string and a comment that look like declarations are left alone',
      'note = "lr = hp.real(1, 2)"\n# lr = hp.real(1, 2)\nlr = hp.real(1, 2)\nlr',
      { lr: real('1.5', '2') },
      'note = "lr = hp.real(1, 2)"\n# lr = hp.real(1, 2)\nlr = hp.real(1.5, 2)\nlr'
    ],
    [
      'a parenthesis inside a string argument',
      'x = hp.real(0, 1, name="x (scaled)")\nx',
      { x: real('0.25', '1') },
      'x = hp.real(0.25, 1, name="x (scaled)")\nx'
    ],
    ['nothing changed', 'x = hp.real(0, 1)\nx', {}, 'x = hp.real(0, 1)\nx'],
    [
      'a bound written another way keeps its text',
      'lr = hp.real(1e-4, 1e-1, log=True)\nlr',
      { lr: real('0.0002', '0.1', true) },
      'lr = hp.real(0.0002, 1e-1, log=True)\nlr'
    ],
    [
      'an int bound equal to a float literal keeps its text',
      'x = hp.real(0, 10)\nx',
      { x: real('0.0', '5.0') },
      'x = hp.real(0, 5.0)\nx'
    ]
  ];
  test.each(table)('%s', (_, body, params, expected) => {
    expect(rewriteCell(cell(' --trials 20', body), bayes(), params)).toBe(cell(' --trials 20', expected));
  });

  test('a declaration looked for on a line that no longer has one says so', () => {
    const spec: IParamSpec = { ...real('16', '64'), kind: 'int', line: 2 };
    expect(() => rewriteCell(cell('', 'x = 1\nx'), bayes(), { 'line 2': spec })).toThrow(
      'the cell has no hp declaration on its line 2 any more'
    );
  });

  test('the line and the declarations change together', () => {
    const source = '%%tune --method random --trials 10 --name svc\nC = hp.real(0.01, 100, log=True)\nscore(C)';
    const rewritten = rewriteCell(source, bayes({ trials: 25, direction: 'maximize', seed: 4 }), {
      C: real('0.1', '10', true)
    });
    expect(rewritten).toBe(
      '%%tune --method bayes --trials 25 --name svc --maximize --seed 4\nC = hp.real(0.1, 10, log=True)\nscore(C)'
    );
  });

  test('a cell without %%tune is refused', () => {
    expect(() => rewriteCell('x = hp.real(0, 1)\nx', bayes(), {})).toThrow('does not start with %%tune');
  });

  test('a hyperparameter the cell does not declare is named', () => {
    expect(() => rewriteCell('%%tune\nx = hp.real(0, 1)\nx', bayes(), { y: real('0', '1') })).toThrow('"y"');
  });

  test('a range given for a choice is refused', () => {
    expect(() => rewriteCell('%%tune\nx = hp.choice([1, 2])\nx', bayes(), { x: real('0', '1') })).toThrow(
      'declared with hp.choice'
    );
  });
});

describe('bestParamsCell', () => {
  test('declarations become literals, the rest stays', () => {
    const source =
      '%%tune --trials 30 --maximize\nlr = hp.real(1e-4, 1e-1,\n             log=True)  # step size\nact = hp.choice(["relu", "tanh"])\nclf = MLP(lr, act)\nscore(clf)';
    expect(bestParamsCell(source, { lr: '0.0123', act: "'tanh'" }, '# best params of study')).toBe(
      "# best params of study\nlr = 0.0123  # step size\nact = 'tanh'\nclf = MLP(lr, act)\nscore(clf)"
    );
  });

  test('a declaration without a best value is kept', () => {
    expect(bestParamsCell('%%tune\nx = hp.int(1, 3)\ny = hp.int(1, 3)\nx + y', { x: '2' })).toBe(
      'x = 2\ny = hp.int(1, 3)\nx + y'
    );
  });
});

describe('cell recognition', () => {
  test.each([
    ['%%tune\nx', true, 'study'],
    ['%%tune --name svc --trials 3\nx', true, 'svc'],
    ['%%tune --name=nn\nx', true, 'nn'],
    ['%%tuned\nx', false, null],
    ['%%time\nx', false, null],
    ['x = 1', false, null]
  ])('%j', (source, tune, name) => {
    expect(isTuneCell(source)).toBe(tune);
    expect(studyName(source)).toBe(name);
  });

  test('declarations are found across lines', () => {
    const found = findDeclarations('a = hp.real(0,\n 1)\nb = hp.choice(["x", "y"])\nc = other.thing(1)');
    expect(found.map(d => [d.name, d.kind])).toEqual([
      ['a', 'real'],
      ['b', 'choice']
    ]);
  });
});

describe('the inserted template', () => {
  test('gets a study name no %%tune cell of the notebook uses', () => {
    expect(freshStudyName(['x = 1', '%%tune\nx'])).toBe('svc_search');
    expect(freshStudyName(['%%tune --name svc_search\nx', '%%tune --name svc_search_2\nx'])).toBe('svc_search_3');
  });

  test('is a %%tune cell of that name declaring three hyperparameters', () => {
    const source = template('svc_search_2');
    expect(studyName(source)).toBe('svc_search_2');
    expect(findDeclarations(source).map(d => d.name)).toEqual(['C', 'gamma', 'kernel']);
  });
});
