/** An array-backed FIFO with O(1) shift, and removal by index for the rare skip-ahead. */
export class Deque<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** Insert at a position counted from the head (used to inject reordering). */
  insertAt(index: number, item: T): void {
    this.items.splice(this.head + Math.min(index, this.length), 0, item);
  }

  at(index: number): T | undefined {
    return this.items[this.head + index];
  }

  removeAt(index: number): T | undefined {
    if (index === 0) return this.shift();
    const [item] = this.items.splice(this.head + index, 1);
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined as T;
    this.head += 1;
    if (this.head > 1_024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
