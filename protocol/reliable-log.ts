// One end of a client session's reliable stream (see "client sessions" in
// messages.ts): the coordinator and the SDK each hold one. Sending, it numbers
// data frames and keeps their bytes until the peer acknowledges them, so a
// resumed socket gets what the old one lost; receiving, it remembers the last
// frame processed, so a frame resent after a resume is done once. It holds
// encoded bytes only: sockets, timers and what a frame means stay with its owner.
//
// Acks are delayed, as TCP's are: each end acknowledges once ACK_EVERY frames
// are due or ACK_DELAY_MS after the first, not after every frame. An ack
// only lets the peer drop frames it keeps for a resume, and on a lone round
// trip the two ack frames woke the SDK and the coordinator while the task was
// on its way, which cost the trip a tenth to a fifth on a 2-core machine (issue 17).

/** Frames received past which their ack leaves at once. */
export const ACK_EVERY = 32;
/** How long an ack may wait for more frames to cover. */
export const ACK_DELAY_MS = 20;

interface Retained<Tag> {
  seq: number;
  bytes: Uint8Array;
  /** What the owner needs back when the frame is acknowledged (e.g. the result ids it carries). */
  tag?: Tag;
}

export class ReliableLog<Tag = never> {
  /** The last seq numbered. */
  private sent = 0;
  private retained: Retained<Tag>[] = [];
  private bytes = 0;
  private last: number;
  /** Frames accepted since the last ack taken. */
  private due = 0;

  /** `received`: the last peer frame already processed (a session restored from a store). */
  constructor(received = 0) {
    this.last = received;
  }

  // ---- sending ----

  /** Numbers the next frame, encodes it with that seq and keeps it until
   * acknowledged; returns the bytes to send. */
  push(encode: (seq: number) => Uint8Array, tag?: Tag): Uint8Array {
    const seq = ++this.sent;
    const bytes = encode(seq);
    this.retained.push(tag === undefined ? { seq, bytes } : { seq, bytes, tag });
    this.bytes += bytes.byteLength;
    return bytes;
  }

  /** The peer saw frames up to `seq` from an earlier life of this stream (a
   * restart lost the count): later frames are numbered after it. */
  continueAfter(seq: number): void {
    this.sent = Math.max(this.sent, seq);
  }

  /** The peer has everything up to `seq`: drops those frames and returns their tags, in order. */
  ack(seq: number): Tag[] {
    let i = 0;
    const tags: Tag[] = [];
    while (i < this.retained.length && this.retained[i].seq <= seq) {
      const frame = this.retained[i];
      if (frame.tag !== undefined) tags.push(frame.tag);
      this.bytes -= frame.bytes.byteLength;
      i++;
    }
    if (i > 0) this.retained = this.retained.slice(i);
    return tags;
  }

  /** The frames to send again, in order, to a peer whose last frame was `seq`. */
  after(seq: number): Uint8Array[] {
    return this.retained.filter((frame) => frame.seq > seq).map((frame) => frame.bytes);
  }

  /** Frames kept until acknowledged. */
  get retainedCount(): number {
    return this.retained.length;
  }

  /** Their bytes in all. */
  get retainedBytes(): number {
    return this.bytes;
  }

  // ---- receiving ----

  /** The last peer frame processed: what an ack or a resume names. */
  get received(): number {
    return this.last;
  }

  /** True for a new frame (and an ack becomes due); false for one already processed. */
  accept(seq: number): boolean {
    if (seq <= this.last) return false;
    this.last = seq;
    this.due++;
    return true;
  }

  /** Frames were accepted since the last ack taken. */
  get ackDue(): boolean {
    return this.due > 0;
  }

  /** So many that their ack leaves now rather than within ACK_DELAY_MS. */
  get ackUrgent(): boolean {
    return this.due >= ACK_EVERY;
  }

  /** The seq to acknowledge when frames were accepted since the last call, else undefined. */
  takeAck(): number | undefined {
    if (this.due === 0) return undefined;
    this.due = 0;
    return this.last;
  }
}
