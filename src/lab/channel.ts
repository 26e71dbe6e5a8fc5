/**
 * The result of {@link Channel.recvOk}: a value, or the news that the channel is closed and empty. It plays the
 * part of Go's `v, ok := <-ch`, and stays unambiguous even when `T` itself includes `undefined`.
 */
export type Received<T> = { readonly ok: true; readonly value: T } | { readonly ok: false };

/** A sender parked in {@link Channel.send} until a receiver takes its value. */
interface WaitingSender<T> {
  readonly value: T;
  readonly delivered: () => void;
}

/** A receiver parked in {@link Channel.recvOk} until a sender arrives or the channel closes. */
type WaitingReceiver<T> = (received: Received<T>) => void;

/**
 * An unbuffered channel in the manner of Go's `make(chan T)`, the hand-off the lab uses between Raft and the
 * tester (`applyCh`): a send completes only when a receiver has taken the value, so a slow tester applies
 * back-pressure to Raft exactly as in the course.
 *
 * Waiting senders and waiting receivers are each served first come, first served. Everything is promise
 * logic with no timers, so it behaves the same on virtual and on real time.
 *
 * Closing differs from Go in one way: senders already waiting when the channel closes still hand their values
 * over (Go would panic them). In JavaScript a sender is often a fire-and-forget `void ch.send(x)`, and turning
 * those into rejections nobody observes would only crash the process; sends that start after `close()` do
 * reject.
 */
export class Channel<T> {
  readonly #senders: WaitingSender<T>[] = [];
  readonly #receivers: WaitingReceiver<T>[] = [];
  #closed = false;

  /** Whether {@link close} has been called (values from senders waiting at that moment may still remain). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Offers `value` and resolves once a receiver has taken it. Rejects at once if the channel is closed:
   * sending on a closed channel is a programming error, as in Go.
   */
  send(value: T): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new Error("Channel.send: send on closed channel"));
    }
    const receiver = this.#receivers.shift();
    if (receiver !== undefined) {
      receiver({ ok: true, value });
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.#senders.push({ value, delivered: resolve });
    });
  }

  /**
   * Takes the next value, waiting for a sender if none is ready; `{ ok: false }` once the channel is closed
   * and no sender is left waiting.
   */
  recvOk(): Promise<Received<T>> {
    const sender = this.#senders.shift();
    if (sender !== undefined) {
      sender.delivered();
      return Promise.resolve({ ok: true, value: sender.value });
    }
    if (this.#closed) {
      return Promise.resolve({ ok: false });
    }
    return new Promise<Received<T>>((resolve) => {
      this.#receivers.push(resolve);
    });
  }

  /** Like {@link recvOk}, but gives `undefined` once the channel is closed and drained. */
  async recv(): Promise<T | undefined> {
    const received = await this.recvOk();
    return received.ok ? received.value : undefined;
  }

  /**
   * Closes the channel: waiting receivers get "closed" (there can be no waiting senders then, or they would
   * have been paired), later sends reject, and receivers drain any senders still waiting before seeing
   * "closed". Closing twice is a programming error, as in Go, and throws.
   */
  close(): void {
    if (this.#closed) {
      throw new Error("Channel.close: close of closed channel");
    }
    this.#closed = true;
    // A channel never has senders and receivers waiting at the same time, so only receivers need waking.
    for (const receiver of this.#receivers.splice(0)) {
      receiver({ ok: false });
    }
  }

  /** Yields every value received until the channel is closed and drained, like Go's `for v := range ch`. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      const received = await this.recvOk();
      if (!received.ok) return;
      yield received.value;
    }
  }
}
