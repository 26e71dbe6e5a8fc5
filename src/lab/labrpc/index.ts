/**
 * labrpc: the course's simulated RPC network, ported to TypeScript (lab2-spec §3). Make a network, give each
 * peer client ends connected to the others' servers, and let the tester cut links and crash servers.
 *
 * @example
 * const net = makeNetwork({ clock, seed });
 * const server = makeServer();
 * server.addService(makeService(raft)); // serves "Raft.RequestVote", "Raft.AppendEntries", ...
 * net.addServer(0, server);
 * const end = net.makeEnd("a");
 * net.connect("a", 0);
 * net.enable("a", true);
 * const reply = await end.call("Raft.RequestVote", args); // undefined means the call failed
 */
export { ClientEnd, type SubmitRequest } from "./client-end.ts";
export { type EndName, type ServerName, type ServiceMethod, splitServiceMethod } from "./names.ts";
export { makeNetwork, Network, type NetworkOptions } from "./network.ts";
export { makeServer, Server } from "./server.ts";
export { makeService, type RpcHandler, Service } from "./service.ts";
