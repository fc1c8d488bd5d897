import * as fs from 'fs';
import * as path from 'path';

import { ISessionContext } from '@jupyterlab/apputils';
import { Signal } from '@lumino/signaling';

import { KernelLink } from '../src/link';
import { COMM_TARGET, IStudyInfo, KernelMessage, PROTOCOL_VERSION, request } from '../src/protocol';

/** A message the kernel sends, as tests/test_protocol.py wrote it. */
const fromKernel = (name: string): any =>
  JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'kernel', `${name}.json`), 'utf8'));

/** One end of a comm, as @jupyterlab/services gives it: what the link sends, and messages delivered to it. */
class FakeComm {
  opened: unknown[] = [];
  sent: unknown[] = [];
  onMsg: (msg: any) => void = () => undefined;
  onClose: (msg: any) => void = () => undefined;

  open(data: unknown): void {
    this.opened.push(data);
  }

  send(data: unknown): void {
    this.sent.push(data);
  }

  /** The kernel sends a comm_msg on this comm. */
  deliver(data: unknown): void {
    this.onMsg({ content: { comm_id: 'id', data } });
  }

  /** The kernel closes this comm. */
  close(): void {
    this.onClose({ content: { comm_id: 'id', data: {} } });
  }
}

/** A kernel connection: its comm targets, the comms it has open (comm_info), and the comms the link creates. */
class FakeKernel {
  targets = new Map<string, (comm: FakeComm, msg: any) => void>();
  created: FakeComm[] = [];
  /** The comms of the target the kernel has open, as comm_info reports them (%load_ext opens one). */
  comms: Record<string, { target_name: string }> = {};
  info = Promise.resolve({});

  registerCommTarget(name: string, callback: (comm: FakeComm, msg: any) => void): void {
    this.targets.set(name, callback);
  }

  requestCommInfo(content: { target_name: string }): Promise<any> {
    expect(content.target_name).toBe(COMM_TARGET);
    return Promise.resolve({ content: { status: 'ok', comms: this.comms } });
  }

  createComm(target: string): FakeComm {
    expect(target).toBe(COMM_TARGET);
    const comm = new FakeComm();
    this.created.push(comm);
    return comm;
  }

  /** The kernel opens a comm to the frontend's target (as %load_ext jupyter_hptune does), with its first message. */
  openComm(data: unknown): FakeComm {
    const comm = new FakeComm();
    const target = this.targets.get(COMM_TARGET);
    if (!target) {
      throw new Error('no comm target registered');
    }
    target(comm, { content: { comm_id: 'id', target_name: COMM_TARGET, data } });
    return comm;
  }
}

/** A notebook's session: its kernel (none, or one that changes) and the kernel's status. */
class FakeSession {
  readonly kernelChanged = new Signal<this, unknown>(this);
  readonly statusChanged = new Signal<this, string>(this);
  session: { kernel: FakeKernel | null } | null;

  constructor(kernel: FakeKernel | null) {
    this.session = { kernel };
  }

  changeKernel(kernel: FakeKernel | null): void {
    this.session = { kernel };
    this.kernelChanged.emit(kernel);
  }
}

/** Let the link's comm_info request and the promises after it run. */
const settle = () => new Promise(resolve => setTimeout(resolve, 0));

const NOTEBOOK = 'work/tuning.ipynb';

function link(kernel: FakeKernel | null): { link: KernelLink; session: FakeSession; changes: IStudyInfo[][] } {
  const session = new FakeSession(kernel);
  const made = new KernelLink(session as unknown as ISessionContext, () => NOTEBOOK);
  const changes: IStudyInfo[][] = [];
  made.changed.connect((_, studies) => changes.push(studies));
  return { link: made, session, changes };
}

describe('KernelLink with a kernel where jupyter_hptune is loaded', () => {
  test('opens a comm naming the notebook, and lists the studies and the kernel token the kernel sends', async () => {
    const kernel = new FakeKernel();
    kernel.comms = { k1: { target_name: COMM_TARGET } };
    const { link: l, changes } = link(kernel);
    expect(kernel.targets.has(COMM_TARGET)).toBe(true);
    expect(l.kernelToken).toBeUndefined(); // not known until the kernel answers
    await settle();
    expect(kernel.created).toHaveLength(1);
    const comm = kernel.created[0];
    expect(comm.opened).toEqual([{ version: PROTOCOL_VERSION, type: 'refresh', notebook: NOTEBOOK }]);

    comm.deliver(fromKernel('studies'));
    expect(l.studies.map(s => s.name)).toEqual(['saved_search', 'svc_search']);
    expect(l.kernelToken).toBe('kernel-token');
    expect(changes[changes.length - 1]).toBe(l.studies);

    const update = fromKernel('study');
    update.study.done = 2;
    update.study.state = 'running';
    comm.deliver(update);
    expect(l.studies.map(s => [s.name, s.state, s.done])).toEqual([
      ['saved_search', 'finished', 3],
      ['svc_search', 'running', 2]
    ]);
    expect(l.kernelToken).toBe('kernel-token');

    expect(l.send(request('stop', 'svc_search'))).toBe(true);
    expect(comm.sent).toEqual([{ version: PROTOCOL_VERSION, type: 'stop', study: 'svc_search' }]);
  });

  test("the kernel's write-backs and notices are passed on, not taken as studies", async () => {
    const kernel = new FakeKernel();
    kernel.comms = { k1: { target_name: COMM_TARGET } };
    const { link: l, changes } = link(kernel);
    const messages: KernelMessage[] = [];
    l.message.connect((_, message) => messages.push(message));
    await settle();
    const comm = kernel.created[0];
    for (const name of ['write_cell', 'insert_cell', 'notice']) {
      comm.deliver(fromKernel(name));
    }
    expect(messages.map(m => m.type)).toEqual(['write_cell', 'insert_cell', 'notice']);
    expect(changes).toEqual([]);
    expect(l.studies).toEqual([]);
  });

  test('a message that does not follow the protocol is reported, and the studies stay', async () => {
    const kernel = new FakeKernel();
    kernel.comms = { k1: { target_name: COMM_TARGET } };
    const { link: l } = link(kernel);
    const problems: string[] = [];
    l.problem.connect((_, text) => problems.push(text));
    await settle();
    const comm = kernel.created[0];
    comm.deliver(fromKernel('studies'));
    const bad = fromKernel('study');
    bad.study.state = 'paused';
    comm.deliver(bad);
    comm.deliver({ ...fromKernel('notice'), version: 99 });
    expect(problems).toEqual([
      expect.stringMatching(/^jupyter-hptune: field "state" must be one of running, stopping/),
      expect.stringMatching(
        new RegExp(`^jupyter-hptune: the kernel speaks protocol version 99, this frontend version ${PROTOCOL_VERSION}`)
      )
    ]);
    expect(l.studies.map(s => s.state)).toEqual(['finished', 'finished']);
  });
});

describe('KernelLink with a kernel where jupyter_hptune is not loaded yet', () => {
  test('knows no kernel token, and sends nothing', async () => {
    const kernel = new FakeKernel();
    const { link: l, changes } = link(kernel);
    await settle();
    expect(kernel.created).toEqual([]);
    expect(l.kernelToken).toBeNull(); // no panel shown can be this kernel's
    expect(changes.length).toBeGreaterThan(0);
    expect(l.send(request('stop', 'svc_search'))).toBe(false);
  });

  test('%load_ext opens a comm from the kernel: its studies are listed and it is told the notebook', async () => {
    const kernel = new FakeKernel();
    const { link: l } = link(kernel);
    await settle();
    const comm = kernel.openComm(fromKernel('studies'));
    expect(l.studies.map(s => s.name)).toEqual(['saved_search', 'svc_search']);
    expect(l.kernelToken).toBe('kernel-token');
    expect(comm.sent).toEqual([{ version: PROTOCOL_VERSION, type: 'refresh', notebook: NOTEBOOK }]);
    expect(l.send(request('insert_cell', 'svc_search'))).toBe(true);
    expect(comm.sent[1]).toEqual({ version: PROTOCOL_VERSION, type: 'insert_cell', study: 'svc_search' });
  });
});

describe('KernelLink across restarts and kernel changes', () => {
  test.each(['restarting', 'autorestarting', 'dead'])(
    'the kernel %s: no studies, no kernel token, nothing sent',
    async status => {
      const kernel = new FakeKernel();
      kernel.comms = { k1: { target_name: COMM_TARGET } };
      const { link: l, session, changes } = link(kernel);
      await settle();
      kernel.created[0].deliver(fromKernel('studies'));
      session.statusChanged.emit(status);
      expect(l.studies).toEqual([]);
      expect(l.kernelToken).toBeNull(); // every panel shown is now of a dead kernel
      expect(changes[changes.length - 1]).toEqual([]);
      expect(l.send(request('stop', 'svc_search'))).toBe(false);
    }
  );

  test('other statuses change nothing', async () => {
    const kernel = new FakeKernel();
    kernel.comms = { k1: { target_name: COMM_TARGET } };
    const { link: l, session } = link(kernel);
    await settle();
    kernel.created[0].deliver(fromKernel('studies'));
    session.statusChanged.emit('busy');
    session.statusChanged.emit('idle');
    expect(l.studies).toHaveLength(2);
    expect(l.send(request('refresh'))).toBe(true);
  });

  test('after a restart, the comm %load_ext opens again brings the new studies', async () => {
    const kernel = new FakeKernel();
    kernel.comms = { k1: { target_name: COMM_TARGET } };
    const { link: l, session } = link(kernel);
    await settle();
    kernel.created[0].deliver(fromKernel('studies'));
    session.statusChanged.emit('restarting');
    const restarted = fromKernel('studies');
    restarted.kernel = 'new-token';
    restarted.studies = [];
    const comm = kernel.openComm(restarted);
    expect(l.kernelToken).toBe('new-token');
    expect(l.studies).toEqual([]);
    expect(l.send(request('stop', 'svc_search'))).toBe(true);
    expect(comm.sent[comm.sent.length - 1]).toEqual({ version: PROTOCOL_VERSION, type: 'stop', study: 'svc_search' });
  });

  test('another kernel: the old one is forgotten, the new one asked', async () => {
    const first = new FakeKernel();
    first.comms = { k1: { target_name: COMM_TARGET } };
    const { link: l, session } = link(first);
    await settle();
    const old = first.created[0];
    old.deliver(fromKernel('studies'));

    const second = new FakeKernel();
    session.changeKernel(second);
    expect(l.studies).toEqual([]);
    expect(l.kernelToken).toBeUndefined();
    expect(second.targets.has(COMM_TARGET)).toBe(true);
    await settle();
    expect(l.kernelToken).toBeNull(); // jupyter_hptune not loaded in the new kernel
    expect(second.created).toEqual([]);

    session.changeKernel(null); // shut down
    expect(l.kernelToken).toBeNull();
    expect(l.send(request('refresh'))).toBe(false);
  });

  test('the comm closed by the kernel: nothing is sent', async () => {
    const kernel = new FakeKernel();
    kernel.comms = { k1: { target_name: COMM_TARGET } };
    const { link: l } = link(kernel);
    await settle();
    kernel.created[0].close();
    expect(l.send(request('refresh'))).toBe(false);
  });

  test('a comm the kernel opened before comm_info answered: the link opens none of its own', async () => {
    const kernel = new FakeKernel();
    kernel.comms = { k1: { target_name: COMM_TARGET } };
    const { link: l } = link(kernel);
    const fromTheKernel = kernel.openComm(fromKernel('studies')); // %load_ext ran as the page loaded
    await settle();
    expect(kernel.created).toEqual([]);
    expect(l.send(request('stop', 'svc_search'))).toBe(true);
    expect(fromTheKernel.sent[fromTheKernel.sent.length - 1]).toEqual({
      version: PROTOCOL_VERSION,
      type: 'stop',
      study: 'svc_search'
    });
  });

  test("comm_opens crossing (the kernel's and the link's): requests go on the comm the kernel last talked on", async () => {
    const kernel = new FakeKernel();
    kernel.comms = { k1: { target_name: COMM_TARGET } };
    const { link: l } = link(kernel);
    await settle();
    const ours = kernel.created[0];
    const theirs = kernel.openComm(fromKernel('studies'));
    l.send(request('stop', 'svc_search'));
    expect(theirs.sent[theirs.sent.length - 1]).toEqual({
      version: PROTOCOL_VERSION,
      type: 'stop',
      study: 'svc_search'
    });
    ours.deliver(fromKernel('studies')); // the kernel kept the link's comm
    l.send(request('insert_cell', 'svc_search'));
    expect(ours.sent).toEqual([{ version: PROTOCOL_VERSION, type: 'insert_cell', study: 'svc_search' }]);
  });

  test('disposed: no more signals', async () => {
    const kernel = new FakeKernel();
    kernel.comms = { k1: { target_name: COMM_TARGET } };
    const { link: l, changes } = link(kernel);
    await settle();
    const count = changes.length;
    l.dispose();
    expect(l.send(request('refresh'))).toBe(false);
    kernel.created[0].deliver(fromKernel('studies'));
    expect(changes).toHaveLength(count);
  });
});
