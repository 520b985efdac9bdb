// A local grid's transport: the frames a Grid would send the coordinator go
// to an in-process engine instead, and its replies come back the same way,
// a turn later, as they would over a socket.
import { DEFAULT_LIMITS } from '../../protocol/limits.ts';
import type { ToClientData } from '../../protocol/messages.ts';
import type { Bundle } from '../bundler.ts';
import type { ClientFrame, Transport } from '../transport.ts';
import { LocalEngine } from './engine.ts';

export class LocalChannel implements Transport {
  readonly clientId = 'local';
  /** A default coordinator's: task code tested locally meets the same limits on the grid. */
  readonly limits = DEFAULT_LIMITS;
  private seq = 0;

  private constructor(
    private readonly engine: LocalEngine,
    private readonly onData: (msg: ToClientData) => void,
  ) {}

  static async open(threads: number, onData: (msg: ToClientData) => void): Promise<LocalChannel> {
    let channel: LocalChannel | undefined;
    const engine = await LocalEngine.start(threads, {
      output: (started, results) => channel?.onData({ t: 'results', seq: ++channel.seq, started, results }),
    });
    channel = new LocalChannel(engine, onData);
    return channel;
  }

  send(msg: ClientFrame): void {
    switch (msg.t) {
      case 'submit':
        this.engine.submit(msg.tasks);
        break;
      case 'cancel':
        this.engine.cancel(msg.ids);
        break;
      case 'job':
        break; // one client alone: nothing to share fairly, no dashboard
      case 'share': {
        const error = this.engine.share(msg.values);
        setImmediate(() => this.onData({ t: 'shared', seq: ++this.seq, req: msg.req, ...(error === undefined ? {} : { error }) }));
        break;
      }
    }
  }

  async putBundle(bundle: Bundle): Promise<void> {
    this.engine.addBundle(bundle.hash, bundle.code);
  }

  close(): Promise<void> {
    return this.engine.stop();
  }
}
