// A loopback HTTP server on its own thread, recording each request (with its body) and answering
// it with an empty Authentik group page, or, for a path naming a group, with that group (its
// attributes `{"k": 1}` until a PATCH sets others). It must not share the test's thread: a component call blocks that thread until
// its requests are answered.

import { createServer } from 'node:http';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';

const EMPTY_PAGE = {
  pagination: { next: 0, previous: 0, count: 0, current: 1, total_pages: 1, start_index: 0, end_index: 0 },
  results: [],
};

/** Starts a listener; `seen()` resolves to the requests it has received. */
export async function listener() {
  const worker = new Worker(new URL(import.meta.url));
  const next = () => new Promise((resolve) => worker.once('message', resolve));
  const url = await next();
  return {
    url,
    seen: async () => {
      worker.postMessage('seen');
      return next();
    },
    close: () => worker.terminate(),
  };
}

if (!isMainThread) {
  const seen = [];
  const attributes = new Map();
  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: request.method, url: request.url, authorization: request.headers.authorization, body });
      response.setHeader('content-type', 'application/json');
      const pk = /^\/api\/v3\/core\/groups\/([0-9a-f-]{36})\/(\?|$)/.exec(request.url)?.[1];
      if (pk === undefined) {
        response.end(JSON.stringify(EMPTY_PAGE));
        return;
      }
      if (request.method === 'PATCH') {
        attributes.set(pk, JSON.parse(body).attributes);
      }
      response.end(JSON.stringify({ pk, name: 'tenant-a', attributes: attributes.get(pk) ?? { k: 1 } }));
    });
  });
  server.listen(0, '127.0.0.1', () => parentPort.postMessage(`http://127.0.0.1:${server.address().port}`));
  parentPort.on('message', () => parentPort.postMessage(seen));
}
