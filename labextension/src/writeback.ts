/**
 * Text transformations of a %%tune cell: "Save to cell" (rewrite the %%tune line and the hp.* declarations to
 * match the panel) and "Use best params" (the cell with each declaration replaced by its best value).
 *
 * Edits touch only the text that changes: spacing, comments, line breaks inside a call and every other argument
 * (default=, name=) are kept as written. Values arrive as Python literals written by the kernel.
 */

import { IParamSpec, ITuneLine } from './protocol';

export const MAGIC = '%%tune';

/** What each character of Python source is: code, inside a string, or inside a comment. */
const CODE = 0;
const STRING = 1;
const COMMENT = 2;

interface IEdit {
  start: number;
  end: number;
  text: string;
}

function applyEdits(source: string, edits: IEdit[]): string {
  const sorted = [...edits].sort((a, b) => b.start - a.start);
  let result = source;
  for (const edit of sorted) {
    result = result.slice(0, edit.start) + edit.text + result.slice(edit.end);
  }
  return result;
}

/** Classify each character of Python source as code, string or comment. */
export function lexMask(source: string): Uint8Array {
  const mask = new Uint8Array(source.length);
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    if (ch === '#') {
      while (i < source.length && source[i] !== '\n') {
        mask[i++] = COMMENT;
      }
      continue;
    }
    if (ch === '"' || ch === "'") {
      const triple = source.startsWith(ch.repeat(3), i);
      const quote = triple ? ch.repeat(3) : ch;
      const start = i;
      i += quote.length;
      while (i < source.length) {
        if (source[i] === '\\') {
          i += 2;
          continue;
        }
        if (source.startsWith(quote, i)) {
          i += quote.length;
          break;
        }
        if (!triple && source[i] === '\n') {
          break;
        }
        i++;
      }
      mask.fill(STRING, start, Math.min(i, source.length));
      continue;
    }
    mask[i++] = CODE;
  }
  return mask;
}

/** +1 for an opening bracket of code, -1 for a closing one, 0 for anything else (strings and comments included). */
function bracket(source: string, mask: Uint8Array, i: number): number {
  if (mask[i] !== CODE) {
    return 0;
  }
  const ch = source[i];
  return '([{'.includes(ch) ? 1 : ')]}'.includes(ch) ? -1 : 0;
}

/** The index of the bracket closing the one at `open`, or -1. */
function closingBracket(source: string, mask: Uint8Array, open: number): number {
  let depth = 0;
  for (let i = open; i < source.length; i++) {
    depth += bracket(source, mask, i);
    if (depth === 0) {
      return i;
    }
  }
  return -1;
}

/** One argument of a call: where its value is, and its keyword if it has one. */
interface IArgument {
  keyword: string | null;
  valueStart: number;
  valueEnd: number;
  /** Where the comma before this argument is (-1 for the first). */
  commaBefore: number;
}

function isBlank(source: string, mask: Uint8Array, i: number): boolean {
  return mask[i] === COMMENT || /\s/.test(source[i]);
}

function callArguments(source: string, mask: Uint8Array, open: number, close: number): IArgument[] {
  const args: IArgument[] = [];
  let depth = 0;
  let start = open + 1;
  let commaBefore = -1;
  const finish = (end: number) => {
    let s = start;
    let e = end;
    while (s < e && isBlank(source, mask, s)) {
      s++;
    }
    while (e > s && isBlank(source, mask, e - 1)) {
      e--;
    }
    if (s === e) {
      return; // a trailing comma
    }
    const keyword = /^([A-Za-z_]\w*)\s*=(?!=)\s*/.exec(source.slice(s, e));
    args.push({
      keyword: keyword ? keyword[1] : null,
      valueStart: keyword ? s + keyword[0].length : s,
      valueEnd: e,
      commaBefore
    });
  };
  for (let i = open + 1; i < close; i++) {
    depth += bracket(source, mask, i);
    if (depth === 0 && mask[i] === CODE && source[i] === ',') {
      finish(i);
      start = i + 1;
      commaBefore = i;
    }
  }
  finish(close);
  return args;
}

/** A declaration `name = <prefix>.<kind>(...)` found in a cell. */
export interface IDeclaration {
  name: string;
  kind: 'real' | 'int' | 'choice';
  /** Where the call starts (its prefix, e.g. `hp.`) and where it ends (after its closing parenthesis). */
  callStart: number;
  callEnd: number;
  open: number;
  close: number;
}

const DECLARATION = /^[ \t]*([A-Za-z_]\w*)[ \t]*=[ \t]*((?:[A-Za-z_]\w*[ \t]*\.[ \t]*)+)(real|int|choice)[ \t]*\(/gm;

/** Every hp.real/hp.int/hp.choice declaration of a cell, in order. */
export function findDeclarations(source: string): IDeclaration[] {
  const mask = lexMask(source);
  const found: IDeclaration[] = [];
  for (const match of source.matchAll(DECLARATION)) {
    const index = match.index ?? 0;
    const nameAt = index + match[0].indexOf(match[1]);
    if (mask[nameAt] !== CODE) {
      continue;
    }
    const open = index + match[0].length - 1;
    const close = closingBracket(source, mask, open);
    if (close < 0) {
      continue;
    }
    const callStart = index + match[0].lastIndexOf(match[2]);
    found.push({ name: match[1], kind: match[3] as IDeclaration['kind'], callStart, callEnd: close + 1, open, close });
  }
  return found;
}

const CALL = /((?:[A-Za-z_]\w*[ \t]*\.[ \t]*)+)(real|int|choice)[ \t]*\(/g;

/**
 * The hp.real/hp.int/hp.choice call that starts on a line of a cell's body (the cell's line `line`, the %%tune line
 * being 1), named `name` for messages: a declaration the cell does not assign, e.g. in a loop.
 */
function callOnLine(body: string, line: number, name: string): IDeclaration | null {
  const mask = lexMask(body);
  for (const match of body.matchAll(CALL)) {
    const index = match.index ?? 0;
    if (mask[index] !== CODE || (index > 0 && /[\w.]/.test(body[index - 1]))) {
      continue;
    }
    if (body.slice(0, index).split('\n').length !== line) {
      continue; // the body starts with the newline after the %%tune line: its n-th line is the cell's n-th
    }
    const open = index + match[0].length - 1;
    const close = closingBracket(body, mask, open);
    if (close >= 0) {
      return { name, kind: match[2] as IDeclaration['kind'], callStart: index, callEnd: close + 1, open, close };
    }
  }
  return null;
}

const SIGNATURES: Record<IDeclaration['kind'], string[]> = {
  real: ['low', 'high', 'log', 'default'],
  int: ['low', 'high', 'log', 'default'],
  choice: ['options', 'default']
};

/** Each argument of a declaration by its parameter name. */
function namedArguments(kind: IDeclaration['kind'], args: IArgument[]): Map<string, IArgument> {
  const named = new Map<string, IArgument>();
  const order = SIGNATURES[kind];
  args.forEach((arg, position) => {
    const name = arg.keyword ?? order[position];
    if (name) {
      named.set(name, arg);
    }
  });
  return named;
}

/** Whether two simple Python literals have the same value: numbers (`1e-1`, `0.1`) or strings in either quotes. */
function sameLiteral(a: string, b: string): boolean {
  const text = /^(['"])([^'"\\]*)\1$/;
  const [x, y] = [text.exec(a.trim()), text.exec(b.trim())];
  if (x && y) {
    return x[2] === y[2];
  }
  return a.trim() === b.trim() || sameNumber(a, b);
}

/**
 * A choice's new options as a list literal, each option written as the cell wrote it where it was there before
 * (so `["relu", "tanh"]` keeps its quotes), in the cell's own brackets.
 */
function optionsText(source: string, mask: Uint8Array, arg: IArgument, wanted: string[]): string {
  const first = source[arg.valueStart];
  const last = source[arg.valueEnd - 1];
  const literal = (first === '[' && last === ']') || (first === '(' && last === ')');
  const close = arg.valueEnd - 1;
  if (!literal || closingBracket(source, mask, arg.valueStart) !== close) {
    return `[${wanted.join(', ')}]`; // a variable or an expression: the options as literals
  }
  const written = callArguments(source, mask, arg.valueStart, close).map(e => source.slice(e.valueStart, e.valueEnd));
  const items = wanted.map(option => written.find(text => sameLiteral(text, option)) ?? option);
  const single = first === '(' && items.length === 1 ? ',' : '';
  return `${first}${items.join(', ')}${single}${last}`;
}

/** Whether two Python number literals have the same value (`1e-1` and `0.1`): the one written is kept. */
function sameNumber(a: string, b: string): boolean {
  const number = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
  return number.test(a.trim()) && number.test(b.trim()) && Number(a) === Number(b);
}

function removal(source: string, arg: IArgument): IEdit {
  // From the comma before the argument to the end of its value: `, log=True` goes, comments after it stay.
  return { start: arg.commaBefore, end: arg.valueEnd, text: '' };
}

function declarationEdits(source: string, mask: Uint8Array, decl: IDeclaration, spec: IParamSpec): IEdit[] {
  if ((spec.kind === 'choice') !== (decl.kind === 'choice')) {
    throw new Error(`hyperparameter "${decl.name}" is declared with hp.${decl.kind}, not as a ${spec.kind}`);
  }
  const args = callArguments(source, mask, decl.open, decl.close);
  const named = namedArguments(decl.kind, args);
  const edits: IEdit[] = [];
  const replace = (arg: IArgument | undefined, text: string, what: string) => {
    if (!arg) {
      throw new Error(`hyperparameter "${decl.name}": its declaration has no ${what} to rewrite`);
    }
    const written = source.slice(arg.valueStart, arg.valueEnd);
    if (written !== text && !sameNumber(written, text)) {
      edits.push({ start: arg.valueStart, end: arg.valueEnd, text });
    }
  };
  if (spec.kind === 'choice') {
    const options = named.get('options');
    replace(options, options ? optionsText(source, mask, options, spec.options ?? []) : '', 'options');
  } else {
    replace(named.get('low'), spec.low ?? '', 'low bound');
    const high = named.get('high');
    replace(high, spec.high ?? '', 'high bound');
    const log = named.get('log');
    if (spec.log) {
      if (log) {
        replace(log, 'True', 'log flag');
      } else if (high) {
        edits.push({ start: high.valueEnd, end: high.valueEnd, text: ', log=True' });
      }
    } else if (log) {
      if (log.keyword) {
        edits.push(removal(source, log));
      } else {
        replace(log, 'False', 'log flag'); // positional: a default after it keeps its place
      }
    }
  }
  const fallback = named.get('default');
  if (spec.drop_default && fallback) {
    edits.push(removal(source, fallback));
  }
  return edits;
}

/** One option of the %%tune line, with the span of its text. */
interface IOption {
  name: string;
  value: string | null;
  start: number;
  end: number;
  valueStart: number;
  valueEnd: number;
}

function lineTokens(line: string): { start: number; end: number }[] {
  const tokens: { start: number; end: number }[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i])) {
      i++;
    }
    if (i >= line.length) {
      break;
    }
    const start = i;
    while (i < line.length && !/\s/.test(line[i])) {
      const quote = line[i];
      if (quote === '"' || quote === "'") {
        const end = line.indexOf(quote, i + 1);
        i = end < 0 ? line.length : end + 1;
      } else {
        i++;
      }
    }
    tokens.push({ start, end: i });
  }
  return tokens;
}

function lineOptions(line: string): IOption[] {
  const tokens = lineTokens(line);
  const options: IOption[] = [];
  for (let t = 0; t < tokens.length; t++) {
    const { start, end } = tokens[t];
    const text = line.slice(start, end);
    if (!text.startsWith('--')) {
      continue;
    }
    const equals = text.indexOf('=');
    if (equals >= 0) {
      options.push({
        name: text.slice(0, equals),
        value: text.slice(equals + 1),
        start,
        end,
        valueStart: start + equals + 1,
        valueEnd: end
      });
    } else if (t + 1 >= tokens.length || line.startsWith('--', tokens[t + 1].start)) {
      // %%tune takes no positional argument: an option followed by another (or by nothing) is a flag
      options.push({ name: text, value: null, start, end, valueStart: end, valueEnd: end });
    } else {
      const next = tokens[++t];
      options.push({
        name: text,
        value: line.slice(next.start, next.end),
        start,
        end: next.end,
        valueStart: next.start,
        valueEnd: next.end
      });
    }
  }
  return options;
}

/** The %%tune line (without the magic's name) rewritten to run the search `wanted` describes. */
export function rewriteTuneLine(line: string, wanted: ITuneLine): string {
  const options = lineOptions(line);
  const edits: IEdit[] = [];
  const appended: string[] = [];
  const remove = (name: string) => {
    for (const option of options.filter(o => o.name === name)) {
      let start = option.start;
      while (start > 0 && /[ \t]/.test(line[start - 1])) {
        start--;
      }
      edits.push({ start, end: option.end, text: '' });
    }
  };
  const set = (name: string, value: string | null) => {
    const present = options.filter(o => o.name === name);
    if (value === null) {
      remove(name);
      return;
    }
    if (!present.length) {
      if (wanted.defaults[name] !== value) {
        appended.push(`${name} ${value}`);
      }
      return;
    }
    const [first, ...others] = present;
    if (first.value !== value) {
      edits.push(
        first.value === null
          ? { start: first.end, end: first.end, text: ` ${value}` }
          : { start: first.valueStart, end: first.valueEnd, text: value }
      );
    }
    for (const other of others) {
      edits.push({ start: other.start, end: other.end, text: '' });
    }
  };
  const flag = (name: string, on: boolean) => {
    const present = options.some(o => o.name === name);
    if (on && !present) {
      appended.push(name);
    } else if (!on && present) {
      remove(name);
    }
  };
  for (const [name, value] of Object.entries(wanted.options)) {
    if (typeof value === 'boolean') {
      flag(name, value);
    } else {
      set(name, value);
    }
  }
  if (wanted.method !== 'manual' || wanted.point) {
    remove('--point');
  }
  if (wanted.method === 'manual' && wanted.point) {
    const quote = wanted.point.includes('"') ? "'" : '"';
    appended.push(`--point ${quote}${wanted.point}${quote}`);
  }
  let result = applyEdits(line, edits);
  if (appended.length) {
    result = result.replace(/\s*$/, '') + ' ' + appended.join(' ');
  }
  if (!result.trim()) {
    return '';
  }
  return /^\s/.test(result) ? result : ' ' + result;
}

function splitMagic(source: string): { line: string; body: string } | null {
  if (!source.startsWith(MAGIC)) {
    return null;
  }
  const newline = source.indexOf('\n');
  const first = newline < 0 ? source : source.slice(0, newline);
  const rest = first.slice(MAGIC.length);
  if (rest && !/^\s/.test(rest)) {
    return null; // %%tuned, %%tune? ...
  }
  return { line: rest, body: newline < 0 ? '' : source.slice(newline) };
}

/** Whether a cell's source is a %%tune cell. */
export function isTuneCell(source: string): boolean {
  return splitMagic(source) !== null;
}

/** The study name a %%tune cell's line gives (`--name`, default "study"), or null for another cell. */
export function studyName(source: string): string | null {
  const parts = splitMagic(source);
  if (!parts) {
    return null;
  }
  const name = lineOptions(parts.line).find(o => o.name === '--name');
  return name?.value ?? 'study';
}

/** "Save to cell": the cell with its %%tune line and declarations rewritten; Error naming what could not be. */
export function rewriteCell(source: string, line: ITuneLine, params: Record<string, IParamSpec>): string {
  const parts = splitMagic(source);
  if (!parts) {
    throw new Error('the cell does not start with %%tune');
  }
  const body = parts.body;
  const mask = lexMask(body);
  const declarations = findDeclarations(body);
  const edits: IEdit[] = [];
  for (const [name, spec] of Object.entries(params)) {
    const decl = spec.line !== undefined ? callOnLine(body, spec.line, name) : declarations.find(d => d.name === name);
    if (!decl) {
      throw new Error(
        spec.line !== undefined
          ? `the cell has no hp declaration on its line ${spec.line} any more`
          : `the cell has no declaration of hyperparameter "${name}"`
      );
    }
    edits.push(...declarationEdits(body, mask, decl, spec));
  }
  return MAGIC + rewriteTuneLine(parts.line, line) + applyEdits(body, edits);
}

/** "Use best params": the cell's code without %%tune, each declaration replaced by its best value. */
export function bestParamsCell(source: string, best: Record<string, string>, header = ''): string {
  const parts = splitMagic(source);
  const body = parts ? parts.body.replace(/^\n/, '') : source;
  const edits: IEdit[] = findDeclarations(body)
    .filter(decl => decl.name in best)
    .map(decl => ({ start: decl.callStart, end: decl.callEnd, text: best[decl.name] }));
  const code = applyEdits(body, edits);
  return header ? `${header}\n${code}` : code;
}

/** The cell "Insert %%tune cell" inserts, with a study name of its own: a search that runs as it is. */
export function template(name: string): string {
  return `%%tune --method bayes --trials 20 --maximize --name ${name}
# Declare each hyperparameter with hp.real / hp.int / hp.choice; the last expression is the score.
from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score
from sklearn.svm import SVC

digits_X, digits_y = load_digits(return_X_y=True)
C = hp.real(1e-2, 1e3, log=True)
gamma = hp.real(1e-5, 1e-1, log=True)
kernel = hp.choice(["rbf", "sigmoid"])
cross_val_score(SVC(C=C, gamma=gamma, kernel=kernel), digits_X, digits_y, cv=3).mean()`;
}

/** A study name no %%tune cell of these sources uses yet: svc_search, svc_search_2, ... */
export function freshStudyName(sources: string[]): string {
  const used = new Set(sources.map(studyName).filter(name => name !== null));
  let name = 'svc_search';
  for (let n = 2; used.has(name); n++) {
    name = `svc_search_${n}`;
  }
  return name;
}
