// A FIFO with O(1) shift: Array.prototype.shift copies the array, which is
// quadratic over the thousands of futures a map or asCompleted can hold.
export class Queue<T> {
  #items: T[] = [];
  #head = 0;
  get size(): number {
    return this.#items.length - this.#head;
  }
  push(x: T): void {
    this.#items.push(x);
  }
  shift(): T {
    if (this.size === 0) throw new RangeError('shift of an empty queue');
    const x = this.#items[this.#head];
    this.#items[this.#head++] = undefined as T; // let it be collected
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    return x;
  }
  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}
