/** One notebook's link to the kernel side of jupyter-hptune: its comm and the studies it reports. */

import { ISessionContext } from '@jupyterlab/apputils';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import {
  COMM_TARGET,
  FrontendMessage,
  IStudyInfo,
  KernelMessage as Message,
  applyStudies,
  parseKernelMessage,
  request
} from './protocol';

export class KernelLink {
  private _studies: IStudyInfo[] = [];
  private _comm: Kernel.IComm | null = null;
  private _kernel: Kernel.IKernelConnection | null = null;
  private _changed = new Signal<this, IStudyInfo[]>(this);
  private _message = new Signal<this, Message>(this);
  private _problem = new Signal<this, string>(this);
  private _token: string | null | undefined = undefined;

  /** `path`: the notebook's path, told to the kernel so it records which notebook runs its studies. */
  constructor(
    private readonly _session: ISessionContext,
    private readonly _path: () => string = () => ''
  ) {
    _session.kernelChanged.connect(() => this.connect(), this);
    _session.statusChanged.connect((_, status) => {
      if (status === 'restarting' || status === 'autorestarting' || status === 'dead') {
        this.reset();
      }
    }, this);
    this.connect();
  }

  /** The studies of this notebook's kernel. */
  get studies(): IStudyInfo[] {
    return this._studies;
  }

  /**
   * The token of the notebook's kernel process (its panels carry it): null when no kernel with jupyter-hptune runs
   * (restarting, shut down, or the extension not loaded), undefined while not yet known.
   */
  get kernelToken(): string | null | undefined {
    return this._token;
  }

  /** Emitted when the list of studies changes, or the kernel token. */
  get changed(): ISignal<this, IStudyInfo[]> {
    return this._changed;
  }

  /** Emitted with every checked message from the kernel (write_cell, insert_cell, notice...). */
  get message(): ISignal<this, Message> {
    return this._message;
  }

  /** Emitted with a message the kernel sent that does not follow the protocol. */
  get problem(): ISignal<this, string> {
    return this._problem;
  }

  /** Send a request to the kernel; false when jupyter-hptune is not loaded there. */
  send(message: FrontendMessage): boolean {
    if (!this._comm) {
      return false;
    }
    this._comm.send(message as any);
    return true;
  }

  private reset(): void {
    this._comm = null;
    this._token = null;
    this._studies = [];
    this._changed.emit(this._studies);
  }

  private connect(): void {
    const kernel = this._session.session?.kernel ?? null;
    if (kernel === this._kernel) {
      return;
    }
    this.reset();
    this._kernel = kernel;
    if (!kernel) {
      return;
    }
    this._token = undefined; // known once the kernel answers

    // %load_ext jupyter_hptune opens a comm to this target; after a page reload, open one ourselves (below).
    kernel.registerCommTarget(COMM_TARGET, (comm, msg) => this.adopt(comm, msg.content.data));
    void this.reopen(kernel);
  }

  private async reopen(kernel: Kernel.IKernelConnection): Promise<void> {
    try {
      await kernel.info;
      const reply = await kernel.requestCommInfo({ target_name: COMM_TARGET });
      const comms = reply.content.status === 'ok' ? reply.content.comms : {};
      if (kernel !== this._kernel || this._comm) {
        return;
      }
      if (!Object.keys(comms).length) {
        // jupyter_hptune is not loaded in this kernel (yet): no panel shown can be this kernel's
        if (this._token === undefined) {
          this._token = null;
          this._changed.emit(this._studies);
        }
        return;
      }
      const comm = kernel.createComm(COMM_TARGET);
      this.adopt(comm, null);
      comm.open(this.refreshRequest() as any);
    } catch {
      // a kernel that went away meanwhile: its successor connects anew
    }
  }

  private adopt(comm: Kernel.IComm, first: unknown): void {
    // The kernel talks on the comm opened last (by it or by us) and closes the one before; whichever comm a message
    // arrives on is the current one, so a comm_open from each side crossing in flight settles on the kernel's choice.
    this._comm = comm;
    comm.onMsg = (msg: KernelMessage.ICommMsgMsg) => {
      this._comm = comm;
      this.receive(msg.content.data);
    };
    comm.onClose = () => {
      if (this._comm === comm) {
        this._comm = null;
      }
    };
    if (first) {
      this.receive(first);
      comm.send(this.refreshRequest() as any); // the kernel opened it: tell it which notebook this is
    }
  }

  private refreshRequest(): FrontendMessage {
    return request('refresh', this._path() || undefined);
  }

  private receive(data: unknown): void {
    let message: Message;
    try {
      message = parseKernelMessage(data);
    } catch (error) {
      this._problem.emit(`jupyter-hptune: ${(error as Error).message}`);
      return;
    }
    if (message.type === 'studies' || message.type === 'study') {
      if (message.type === 'studies' && message.kernel !== null) {
        this._token = message.kernel;
      }
      this._studies = applyStudies(this._studies, message);
      this._changed.emit(this._studies);
    } else {
      this._message.emit(message);
    }
  }

  dispose(): void {
    Signal.clearData(this);
    this._comm = null;
  }
}
