// Host objects a component's request holds between bridge calls (LLM streams), by a numeric
// handle the component sees. The pool closes what is left when the request ends or its worker
// dies, so a component that forgets a stream cannot keep a model's sequence.

export interface Closable {
  close(): Promise<void>;
}

export class HandleTable<T extends Closable = Closable> {
  private readonly items = new Map<number, T>();
  private next = 1;

  add(item: T): number {
    const id = this.next++;
    this.items.set(id, item);
    return id;
  }

  get(id: number): T | undefined {
    return this.items.get(id);
  }

  /** Forgets `id` and returns what it held. */
  take(id: number): T | undefined {
    const item = this.items.get(id);
    this.items.delete(id);
    return item;
  }

  async closeAll(): Promise<void> {
    const items = [...this.items.values()];
    this.items.clear();
    await Promise.all(items.map((i) => i.close().catch(() => undefined)));
  }
}
