// A small typed event emitter, portable (no node:events), so the client runs the same in Node,
// Deno and browsers.

type Listener<T> = (payload: T) => void;

export class TypedEmitter<Events extends { [K in keyof Events]: unknown }> {
  private readonly listeners = new Map<keyof Events, Listener<never>[]>();

  /** Adds `listener` for `event`. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const list = this.listeners.get(event) ?? [];
    list.push(listener as Listener<never>);
    this.listeners.set(event, list);
    return this;
  }

  /** Removes one registration of `listener` (the latest one) for `event`. */
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const list = this.listeners.get(event);
    if (list === undefined) return this;
    for (let i = list.length - 1; i >= 0; i--) {
      const entry = list[i] as Listener<never> & { listener?: unknown };
      if (entry === listener || entry.listener === listener) {
        list.splice(i, 1);
        break;
      }
    }
    if (list.length === 0) this.listeners.delete(event);
    return this;
  }

  /** Adds `listener` for the next `event` only. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const wrapper = Object.assign(
      (payload: Events[K]) => {
        this.off(event, wrapper);
        listener(payload);
      },
      { listener },
    );
    return this.on(event, wrapper);
  }

  /** How many listeners `event` has. */
  listenerCount(event: keyof Events): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  /**
   * Calls every listener of `event` in order. A listener that throws does not stop the others nor
   * the caller: its exception is rethrown from a fresh task, as an uncaught exception.
   */
  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const list = this.listeners.get(event);
    if (list === undefined) return;
    for (const listener of list.slice()) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (err) {
        setTimeout(() => {
          throw err;
        }, 0);
      }
    }
  }
}
