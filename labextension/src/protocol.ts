/**
 * The messages between the kernel (jupyter_hptune/protocol.py) and this frontend, over one Jupyter comm.
 *
 * The kernel registers the comm target `jupyter_hptune` when `%load_ext jupyter_hptune` runs, and also opens a
 * comm to the frontend's target of the same name, so either side may start. Every message carries `version`;
 * a message of another version is refused with a visible notice, never guessed at.
 *
 * A study's `notebook` is the file name of the notebook that ran it, as its study file records it (null: unknown,
 * e.g. a file written by an older version). The fields added within version 1 (`notebook`, `kernel`) may be missing.
 *
 * Kernel to frontend:
 *   studies      the whole list, sent when a comm opens and on `refresh`, with `kernel`: the kernel process's token
 *                (its panels carry it as the class hptune-kernel-TOKEN; a panel with another is from a dead kernel)
 *   study        one study, added or changed (sent as its trials finish, at most a few times a second)
 *   write_cell   "Save to cell": rewrite a %%tune cell's line and declarations (see writeback.ts)
 *   insert_cell  "Use best params": insert a cell below a %%tune cell, its declarations replaced by literals
 *   notice       a message for the user (e.g. a request named an unknown study)
 * Frontend to kernel:
 *   refresh      ask for `studies`; may carry `notebook`, the path of the notebook this frontend shows
 *   stop         end a study's running search after its current trial
 *   write_cell   ask the kernel for a `write_cell` with the study's panel settings
 *   insert_cell  ask the kernel for an `insert_cell` with the study's best params
 */

export const PROTOCOL_VERSION = 2;
export const COMM_TARGET = 'jupyter_hptune';

export type StudyState = 'running' | 'stopping' | 'stopped' | 'finished' | 'failed';
export const STUDY_STATES: readonly StudyState[] = ['running', 'stopping', 'stopped', 'finished', 'failed'];

/** A study as the sidebar shows it. */
export interface IStudyInfo {
  name: string;
  cell_id: string | null;
  method: string;
  direction: 'minimize' | 'maximize';
  state: StudyState;
  done: number;
  planned: number;
  total: number;
  failed: number;
  pruned: number;
  best_value: number | null;
  best_params: Record<string, string>;
  elapsed: number;
  history: number[];
  storage: string | null;
  /** The file name of the notebook that ran the study (null: not recorded). */
  notebook: string | null;
}

/** The %%tune line a "Save to cell" asks for. */
export interface ITuneLine {
  method: string;
  /**
   * The line's options by flag (`--initial-points`), in order: the value to write (null: leave the option out), or
   * for a flag without a value (`--maximize`) whether the line has it. The kernel makes them from its options'
   * descriptions, so an option a search method adds is written back without a change here.
   */
  options: Record<string, string | boolean | null>;
  /** By flag: what an option is when the line leaves it out; it is not added just to say so. */
  defaults: Record<string, string>;
  /** The manual method's point, as `name=literal, ...` (null: none). */
  point: string | null;
}

/** A hyperparameter's new declaration; values are Python literals written by the kernel. */
export interface IParamSpec {
  kind: 'real' | 'int' | 'choice';
  low?: string;
  high?: string;
  log?: boolean;
  options?: string[];
  drop_default?: boolean;
  /** A call the cell does not assign to a name (`name=f"units_{i}"` in a loop): the cell line it starts on. */
  line?: number;
}

export type KernelMessage =
  | { version: number; type: 'studies'; studies: IStudyInfo[]; kernel: string | null }
  | { version: number; type: 'study'; study: IStudyInfo }
  | {
      version: number;
      type: 'write_cell';
      study: string;
      cell_id: string | null;
      line: ITuneLine;
      params: Record<string, IParamSpec>;
    }
  | { version: number; type: 'insert_cell'; study: string; cell_id: string | null; params: Record<string, string> }
  | { version: number; type: 'notice'; message: string; error: boolean };

export type FrontendMessage =
  | { version: number; type: 'refresh'; notebook?: string }
  | { version: number; type: 'stop'; study: string }
  | { version: number; type: 'write_cell'; study: string }
  | { version: number; type: 'insert_cell'; study: string };

/** A message that does not follow the protocol; its text says what was wrong. */
export class ProtocolError extends Error {}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field<T>(data: Json, name: string, check: (v: unknown) => boolean, what: string): T {
  const value = data[name];
  if (!check(value)) {
    throw new ProtocolError(`field "${name}" must be ${what}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

const isString = (v: unknown): boolean => typeof v === 'string';
const isNumber = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
const isCount = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0;
const isNullable = (check: (v: unknown) => boolean) => (v: unknown) => v === null || check(v);
const isStringMap = (v: unknown): boolean => isObject(v) && Object.values(v).every(isString);

/** Check and return a study from a message. */
export function parseStudy(data: unknown): IStudyInfo {
  if (!isObject(data)) {
    throw new ProtocolError(`a study must be an object, got ${JSON.stringify(data)}`);
  }
  const history = field<unknown[]>(data, 'history', Array.isArray, 'a list of numbers');
  if (!history.every(isNumber)) {
    throw new ProtocolError('field "history" must be a list of numbers');
  }
  return {
    name: field(data, 'name', isString, 'a string'),
    cell_id: field(data, 'cell_id', isNullable(isString), 'a string or null'),
    method: field(data, 'method', isString, 'a string'),
    direction: field(data, 'direction', v => v === 'minimize' || v === 'maximize', '"minimize" or "maximize"'),
    state: field(data, 'state', v => STUDY_STATES.includes(v as StudyState), `one of ${STUDY_STATES.join(', ')}`),
    done: field(data, 'done', isCount, 'a count'),
    planned: field(data, 'planned', isCount, 'a count'),
    total: field(data, 'total', isCount, 'a count'),
    failed: field(data, 'failed', isCount, 'a count'),
    pruned: field(data, 'pruned', isCount, 'a count'),
    best_value: field(data, 'best_value', isNullable(isNumber), 'a number or null'),
    best_params: field(data, 'best_params', isStringMap, 'an object of strings'),
    elapsed: field(data, 'elapsed', isNumber, 'a number of seconds'),
    history: history as number[],
    storage: field(data, 'storage', isNullable(isString), 'a string or null'),
    notebook: data.notebook === undefined ? null : field(data, 'notebook', isNullable(isString), 'a string or null')
  };
}

function parseParamSpec(name: string, data: unknown): IParamSpec {
  if (!isObject(data)) {
    throw new ProtocolError(`hyperparameter "${name}" must be an object`);
  }
  const kind = field<IParamSpec['kind']>(
    data,
    'kind',
    v => v === 'real' || v === 'int' || v === 'choice',
    'real, int or choice'
  );
  const spec: IParamSpec = { kind, drop_default: data.drop_default === true };
  if (kind === 'choice') {
    const options = field<unknown[]>(data, 'options', Array.isArray, 'a list of Python literals');
    if (!options.length || !options.every(isString)) {
      throw new ProtocolError(`hyperparameter "${name}": options must be a non-empty list of Python literals`);
    }
    spec.options = options as string[];
  } else {
    spec.low = field(data, 'low', isString, 'a Python literal');
    spec.high = field(data, 'high', isString, 'a Python literal');
    spec.log = field(data, 'log', v => typeof v === 'boolean', 'true or false');
  }
  if (data.line !== undefined) {
    spec.line = field(data, 'line', v => isCount(v) && (v as number) >= 2, 'a line of the cell after %%tune');
  }
  return spec;
}

function parseLine(data: unknown): ITuneLine {
  if (!isObject(data)) {
    throw new ProtocolError('field "line" must be an object');
  }
  const options = field<Json>(data, 'options', isObject, 'an object');
  for (const [key, value] of Object.entries(options)) {
    if (!key.startsWith('--') || !(value === null || isString(value) || typeof value === 'boolean')) {
      throw new ProtocolError(`option "${key}" must be a --flag whose value is a string, true, false or null`);
    }
  }
  return {
    method: field(data, 'method', isString, 'a string'),
    options: options as ITuneLine['options'],
    defaults: field(data, 'defaults', isStringMap, 'an object of strings'),
    point: data.point === undefined ? null : field(data, 'point', isNullable(isString), 'a string or null')
  };
}

/** Check a message from the kernel; ProtocolError says what is wrong with it. */
export function parseKernelMessage(data: unknown): KernelMessage {
  if (!isObject(data)) {
    throw new ProtocolError(`a message must be an object, got ${JSON.stringify(data)}`);
  }
  const version = data.version;
  if (version !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      `the kernel speaks protocol version ${JSON.stringify(version)}, this frontend version ${PROTOCOL_VERSION}: ` +
        'install the same jupyter-hptune in the kernel and in JupyterLab'
    );
  }
  const type = data.type;
  switch (type) {
    case 'studies': {
      const studies = field<unknown[]>(data, 'studies', Array.isArray, 'a list');
      const kernel =
        data.kernel === undefined
          ? null
          : field<string | null>(data, 'kernel', isNullable(isString), 'a string or null');
      return { version, type, studies: studies.map(parseStudy), kernel };
    }
    case 'study':
      return { version, type, study: parseStudy(data.study) };
    case 'write_cell': {
      const params = field<Json>(data, 'params', isObject, 'an object');
      const parsed: Record<string, IParamSpec> = {};
      for (const [name, spec] of Object.entries(params)) {
        parsed[name] = parseParamSpec(name, spec);
      }
      return {
        version,
        type,
        study: field(data, 'study', isString, 'a string'),
        cell_id: field(data, 'cell_id', isNullable(isString), 'a string or null'),
        line: parseLine(data.line),
        params: parsed
      };
    }
    case 'insert_cell':
      return {
        version,
        type,
        study: field(data, 'study', isString, 'a string'),
        cell_id: field(data, 'cell_id', isNullable(isString), 'a string or null'),
        params: field(data, 'params', isStringMap, 'an object of Python literals')
      };
    case 'notice':
      return {
        version,
        type,
        message: field(data, 'message', isString, 'a string'),
        error: data.error === true
      };
    default:
      throw new ProtocolError(`unknown message type ${JSON.stringify(type)}`);
  }
}

/** A request to the kernel. */
export function request(type: 'refresh', notebook?: string): FrontendMessage;
export function request(type: 'stop' | 'write_cell' | 'insert_cell', study: string): FrontendMessage;
export function request(type: FrontendMessage['type'], name?: string): FrontendMessage {
  const study = name;
  if (type === 'refresh') {
    return name ? { version: PROTOCOL_VERSION, type, notebook: name } : { version: PROTOCOL_VERSION, type };
  }
  if (!study) {
    throw new ProtocolError(`a ${type} request needs a study name`);
  }
  return { version: PROTOCOL_VERSION, type, study };
}

/** Apply a kernel message to the list of studies, in the order they first appeared. */
export function applyStudies(current: readonly IStudyInfo[], message: KernelMessage): IStudyInfo[] {
  if (message.type === 'studies') {
    return [...message.studies];
  }
  if (message.type === 'study') {
    const index = current.findIndex(s => s.name === message.study.name);
    if (index < 0) {
      return [...current, message.study];
    }
    const next = [...current];
    next[index] = message.study;
    return next;
  }
  return [...current];
}

/** The studies a notebook's sidebar shows as its own, and the others of its folder. */
export interface IStudyGroups {
  mine: IStudyInfo[];
  others: IStudyInfo[];
}

/** A path's last part: a notebook's file name. */
export function fileName(path: string): string {
  return path.replace(/\\/g, '/').replace(/\/+$/, '').split('/').pop() ?? '';
}

/**
 * Split a kernel's studies into the notebook's own and the others of its folder's .hptune/.
 *
 * Its own: a study a cell of this kernel ran (it has a cell id), one whose file records this notebook, and one whose
 * file records no notebook (an older version wrote it) but whose --name a %%tune cell of this notebook has.
 */
export function groupStudies(
  studies: readonly IStudyInfo[],
  notebookPath: string,
  cellStudies: ReadonlySet<string>
): IStudyGroups {
  const name = fileName(notebookPath);
  const mine: IStudyInfo[] = [];
  const others: IStudyInfo[] = [];
  for (const study of studies) {
    const own =
      study.cell_id !== null ||
      (study.notebook !== null ? fileName(study.notebook) === name : cellStudies.has(study.name));
    (own ? mine : others).push(study);
  }
  return { mine, others };
}
