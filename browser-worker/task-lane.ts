// A Web Worker's task lane (see LaneHello in protocol/messages.ts): a socket
// of its own to the coordinator, opened when its page says so. Tasks that
// come over it run in the worker's executor like any other, and their
// outcomes go back over it; the page still hears of every outcome (it keeps
// its records by them, and sends one on if the lane closed unanswered).
//
// The page hears of a lane task itself only from the coordinator, and takes
// subtasks only under tasks it knows this worker runs: the subtasks of a
// lane task the page has not heard of wait here until it has (`laned`).
import { PROTOCOL_VERSION, decodeFrame, encodeFrame, parseToLane, type FromWebWorker, type TaskSpec, type ToWebWorker } from '../protocol/messages.ts';
import { withinResultLimit, type Limits } from '../protocol/limits.ts';
import { MAX_LANE_BUNDLES } from '../protocol/parse.ts';

export type PostToPage = (msg: FromWebWorker, transfer: Transferable[]) => void;

export class TaskLane {
  private ws: WebSocket | undefined;
  private limits: Limits | undefined;
  /** Tasks that came over the lane and are not answered yet. */
  private readonly unanswered = new Set<number>();
  /** Of those, the ones the page has heard of (see `laned`). */
  private readonly known = new Set<number>();
  /** Subtasks of lane tasks the page has not heard of, by their parent. */
  private readonly held = new Map<number, { spec: TaskSpec; transfer: Transferable[] }[]>();
  /** What the coordinator must know this worker holds before it sends a task here. */
  private readonly bundles: string[] = [];
  private readonly sharedNames = new Set<string>();

  constructor(
    private readonly run: (tasks: TaskSpec[]) => void,
    private readonly post: PostToPage,
    /** The executor's count of tasks waiting on subtasks, which every report states. */
    private readonly blocked: () => number,
  ) {}

  /** Each message from the page: it opens and ends the lane, the bundles
   * and constants it sends change which tasks the lane may take, and
   * `laned` lets the subtasks held here go. */
  fromPage(msg: ToWebWorker): void {
    switch (msg.t) {
      case 'lane':
        this.open(msg.url, msg.key, msg.nonce, msg.limits);
        break;
      case 'bundle':
        this.bundles.push(msg.hash);
        this.ready();
        break;
      case 'shared':
        for (const name of Object.keys(msg.values)) this.sharedNames.add(name);
        this.ready();
        break;
      case 'laned':
        this.pageHeard(msg.ids);
        break;
      case 'laneEnd':
        this.ws?.close(1000, 'its Web Worker retires');
        break;
    }
  }

  /** A report on its way to the page: the outcomes of lane tasks go over the
   * lane first (one frame each: each result is within the coordinator's
   * limit, so each fits a frame), and subtasks of lane tasks the page has not
   * heard of stay here. With the lane closed, the page sends the outcomes. */
  report(msg: FromWebWorker, transfer: Transferable[]): void {
    if (this.unanswered.size === 0) return;
    if (msg.submit.length > 0) this.hold(msg, transfer);
    const open = this.ws?.readyState === WebSocket.OPEN;
    msg.done.forEach((outcome, i) => {
      if (!this.unanswered.delete(outcome.id)) return;
      this.known.delete(outcome.id);
      // Its subtasks that waited here were withdrawn as it ended.
      this.held.delete(outcome.id);
      if (!open) return;
      this.ws!.send(encodeFrame({ t: 'results', results: [withinResultLimit({ ...outcome, ms: msg.took[i] }, this.limits!)] }));
      (msg.laneSent ??= []).push(outcome.id);
    });
  }

  private hold(msg: FromWebWorker, transfer: Transferable[]): void {
    msg.submit = msg.submit.filter((spec) => {
      const parent = spec.parent;
      if (parent === undefined || !this.unanswered.has(parent) || this.known.has(parent)) return true;
      let waiting = this.held.get(parent);
      if (!waiting) {
        this.held.set(parent, (waiting = []));
        // The page hears of it through the coordinator, which checks it is this lane's.
        this.send({ t: 'spawning', id: parent });
      }
      // Its arguments' buffer, if listed to move, moves with it later.
      const moved = transfer.indexOf(spec.args.buffer);
      if (moved >= 0) transfer.splice(moved, 1);
      waiting.push({ spec, transfer: moved >= 0 ? [spec.args.buffer] : [] });
      return false;
    });
  }

  private pageHeard(ids: number[]): void {
    const submit: TaskSpec[] = [];
    const transfer: Transferable[] = [];
    for (const id of ids) {
      if (!this.unanswered.has(id)) continue;
      this.known.add(id);
      for (const held of this.held.get(id) ?? []) {
        submit.push(held.spec);
        transfer.push(...held.transfer);
      }
      this.held.delete(id);
    }
    if (submit.length > 0) this.post({ t: 'report', started: [], done: [], took: [], awaited: [], submit, cancel: [], blocked: this.blocked() }, transfer);
  }

  private open(url: string, key: string, nonce: string, limits: Limits): void {
    if (this.ws) return;
    this.limits = limits;
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      ws.send(encodeFrame({ t: 'hello', role: 'lane', version: PROTOCOL_VERSION, key, nonce }));
      this.ready();
    };
    ws.onmessage = (e: MessageEvent<ArrayBuffer>) => {
      let tasks: TaskSpec[];
      try {
        tasks = decodeFrame(new Uint8Array(e.data), parseToLane).tasks;
      } catch (err) {
        // Not the coordinator's word: the page's own socket carries on.
        ws.close(1002, (err as Error).message.slice(0, 120));
        return;
      }
      for (const task of tasks) this.unanswered.add(task.id);
      this.run(tasks);
    };
    // A closed lane is not reopened: the page's socket serves this worker
    // from then on, and the page hears of its lane tasks (see `laneClosed`).
  }

  private ready(): void {
    this.send({ t: 'ready', bundles: this.bundles.slice(-MAX_LANE_BUNDLES), shared: this.sharedNames.size });
  }

  private send(msg: Parameters<typeof encodeFrame>[0]): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(encodeFrame(msg));
  }
}
