// A typed event emitter with the interface of Node's EventEmitter, portable (no node:events), so
// the client runs the same in Node, Deno and browsers, and Node's `events.once(client, name,
// { signal })` and `events.on(client, name, { signal })` work on it: they add and remove their
// listeners through `on`/`once`/`removeListener`, which must all exist.

import { IwpmError } from "../core/errors.js";

type Listener<T> = (payload: T) => void;

/** A `once` registration: Node's `rawListeners` shows the wrapper, whose `listener` is the original. */
type Wrapped = Listener<never> & { listener?: Listener<never> };

/** Node's default, kept only so `getMaxListeners` answers as Node's does; nothing warns here. */
const DEFAULT_MAX_LISTENERS = 10;

export class TypedEmitter<Events extends { [K in keyof Events]: unknown }> {
  private readonly listenerMap = new Map<keyof Events, Wrapped[]>();
  private maxListeners = DEFAULT_MAX_LISTENERS;

  /** Adds `listener` for `event`. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    return this.add(event, listener as Wrapped, false);
  }

  /** Same as `on`. */
  addListener<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    return this.add(event, listener as Wrapped, false);
  }

  /** Adds `listener` for `event` before the others. */
  prependListener<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    return this.add(event, listener as Wrapped, true);
  }

  /** Adds `listener` for the next `event` only. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    return this.add(event, this.onceWrapper(event, listener as Wrapped), false);
  }

  /** Adds `listener` for the next `event` only, before the others. */
  prependOnceListener<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    return this.add(event, this.onceWrapper(event, listener as Wrapped), true);
  }

  /** Removes one registration of `listener` (the latest one) for `event`. */
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    return this.removeListener(event, listener);
  }

  /** Same as `off`. */
  removeListener<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const list = this.listenerMap.get(event);
    if (list === undefined) return this;
    for (let i = list.length - 1; i >= 0; i--) {
      const entry = list[i] as Wrapped;
      if (entry === listener || entry.listener === listener) {
        list.splice(i, 1);
        break;
      }
    }
    if (list.length === 0) this.listenerMap.delete(event);
    return this;
  }

  /** Removes every listener of `event`, or of every event. */
  removeAllListeners(event?: keyof Events): this {
    if (event === undefined) this.listenerMap.clear();
    else this.listenerMap.delete(event);
    return this;
  }

  /** How many listeners `event` has (of `listener` only, when given). */
  listenerCount<K extends keyof Events>(event: K, listener?: Listener<Events[K]>): number {
    const list = this.listenerMap.get(event) ?? [];
    if (listener === undefined) return list.length;
    return list.filter((l) => l === listener || l.listener === listener).length;
  }

  /** The listeners of `event`, `once` ones unwrapped. */
  listeners<K extends keyof Events>(event: K): Listener<Events[K]>[] {
    return (this.listenerMap.get(event) ?? []).map((l) => (l.listener ?? l) as Listener<Events[K]>);
  }

  /** The listeners of `event` as registered (`once` ones as their wrappers). */
  rawListeners<K extends keyof Events>(event: K): Listener<Events[K]>[] {
    return [...(this.listenerMap.get(event) ?? [])] as Listener<Events[K]>[];
  }

  /** The events that have listeners. */
  eventNames(): (keyof Events)[] {
    return [...this.listenerMap.keys()];
  }

  /** Accepted for compatibility with Node's EventEmitter; this emitter never warns about leaks. */
  setMaxListeners(n: number): this {
    this.maxListeners = n;
    return this;
  }

  getMaxListeners(): number {
    return this.maxListeners;
  }

  /**
   * Calls every listener of `event` in order; true when it had listeners. A listener that throws
   * stops neither the others nor the caller: its exception is rethrown from a fresh task, as an
   * uncaught exception.
   */
  emit<K extends keyof Events>(event: K, payload: Events[K]): boolean {
    const list = this.listenerMap.get(event);
    if (list === undefined) return false;
    for (const listener of list.slice()) {
      try {
        (listener as Listener<Events[K]>).call(this, payload);
      } catch (err) {
        setTimeout(() => {
          throw err;
        }, 0);
      }
    }
    return true;
  }

  private add(event: keyof Events, listener: Wrapped, first: boolean): this {
    checkListener(event, listener);
    const list = this.listenerMap.get(event) ?? [];
    if (first) list.unshift(listener);
    else list.push(listener);
    this.listenerMap.set(event, list);
    return this;
  }

  private onceWrapper(event: keyof Events, listener: Wrapped): Wrapped {
    checkListener(event, listener);
    const wrapper: Wrapped = Object.assign(
      (payload: never) => {
        this.removeListener(event, wrapper as Listener<Events[keyof Events]>);
        listener.call(this, payload);
      },
      { listener },
    );
    return wrapper;
  }
}

function checkListener(event: PropertyKey, listener: unknown): void {
  if (typeof listener !== "function") {
    throw new IwpmError("INVALID_ARGUMENT", `the listener for "${String(event)}" must be a function, not ${typeof listener}`);
  }
}
