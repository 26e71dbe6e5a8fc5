import { decode, encode } from "../../codec/msgpack.ts";
import type { EndName } from "./names.ts";
import { splitServiceMethod } from "./names.ts";

/**
 * How a {@link ClientEnd} hands an encoded request to its network: resolves to the encoded reply, or to
 * `undefined` when the call failed.
 */
export type SubmitRequest = (
  endName: EndName,
  svcMeth: string,
  argsBytes: Uint8Array,
) => Promise<Uint8Array | undefined>;

/**
 * One caller's end of a simulated connection to one server (labrpc's `ClientEnd`). Raft peer `i` holds one end
 * per peer; the tester cuts and restores links by enabling and disabling ends on the network.
 */
export class ClientEnd {
  /** This end's name in its network. */
  readonly name: EndName;
  readonly #submit: SubmitRequest;

  /** Made by `Network.makeEnd`, which supplies `submit`. */
  constructor(name: EndName, submit: SubmitRequest) {
    this.name = name;
    this.#submit = submit;
  }

  /**
   * Calls `"Service.Method"` on the server this end is connected to. The arguments are deep-copied (encoded
   * here, decoded for the handler) and so is the reply. Resolves to the reply, or to `undefined` when the call
   * failed: request or reply lost, end disabled or unconnected, server crashed, or network cleaned up. Like
   * labrpc there is no separate timeout; a failed call may take up to about 7 s to say so when long delays are
   * on. Rejects on a malformed name or an unknown service or method, which are programming errors.
   *
   * Many calls may be in flight on one end at once, and they may complete out of order.
   */
  async call(svcMeth: string, args: unknown): Promise<unknown | undefined> {
    splitServiceMethod(svcMeth);
    const argsBytes = encode(args);
    const replyBytes = await this.#submit(this.name, svcMeth, argsBytes);
    return replyBytes === undefined ? undefined : decode(replyBytes);
  }
}
