// The constants clients shared for their tasks (grid.share), as this page
// holds them: sent by the coordinator, or by a peer along with the subtasks
// it lent. The runtime hands them to its Web Workers; peer offloading sends
// them on to the peers it lends to.

/** Constants by scope (the client they belong to): name -> value. */
export class SharedConstants {
  private readonly scopes = new Map<string, Map<string, Uint8Array>>();

  /** The constants of `scope`, or undefined when it has none here. */
  get(scope: string): ReadonlyMap<string, Uint8Array> | undefined {
    return this.scopes.get(scope);
  }

  /** Adds (or replaces) constants of `scope`. */
  add(scope: string, values: Record<string, Uint8Array>): void {
    let names = this.scopes.get(scope);
    if (!names) this.scopes.set(scope, (names = new Map<string, Uint8Array>()));
    for (const [name, value] of Object.entries(values)) names.set(name, value);
  }

  /** The client left: its constants go (they can be large, and a page lives long). */
  delete(scope: string): void {
    this.scopes.delete(scope);
  }

  clear(): void {
    this.scopes.clear();
  }
}
