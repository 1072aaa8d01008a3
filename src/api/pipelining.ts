// HTTP/1.1 pipelining, answered one request at a time per connection. Node's server dispatches
// every pipelined request it has bytes for before any answer is written, and keeps their answers
// in the process until the client reads them: four connections that each sent a hundred
// ppocr-rec requests (a megabyte answer each) and never read left the node 450 MiB larger. Here a
// connection's next request is dispatched once the answer before it has been handed to the
// kernel, and the socket is paused meanwhile: a client that does not read holds one answer, and
// one that pipelines and reads gets every answer, in order, as before.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

interface Turns {
  busy: boolean;
  /** Requests parsed while one before them is answered. */
  waiting: Array<[IncomingMessage, ServerResponse]>;
}

/** Puts the server's request listeners behind one turn per connection; call before it serves. */
export function answerInTurn(server: Server): void {
  const listeners = server.listeners('request') as Listener[];
  server.removeAllListeners('request');
  const turns = new WeakMap<Socket, Turns>();
  const dispatch = (t: Turns, socket: Socket, req: IncomingMessage, res: ServerResponse) => {
    t.busy = true;
    let done = false;
    const next = () => {
      if (done) return;
      done = true;
      t.busy = false;
      // Gone: the requests held for it have nobody to answer.
      if (socket.destroyed) return void (t.waiting.length = 0);
      const held = t.waiting.shift();
      if (held !== undefined) dispatch(t, socket, ...held);
      else socket.resume();
    };
    // 'finish' once the answer is with the kernel; 'close' if the connection went first.
    res.once('finish', next);
    res.once('close', next);
    for (const listener of listeners) listener.call(server, req, res);
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    let t = turns.get(socket);
    if (t === undefined) turns.set(socket, (t = { busy: false, waiting: [] }));
    if (!t.busy) return dispatch(t, socket, req, res);
    t.waiting.push([req, res]);
    socket.pause();
  });
}
