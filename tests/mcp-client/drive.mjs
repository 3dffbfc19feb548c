// Drives an MCP server with the official TypeScript SDK's client, as an MCP client application
// would: the tests (host/tests/mcp.rs) say what to do, this does it and prints what came back.
//
// stdin: {"command": "...", "args": [...], "env": {...}, "steps": [step, ...]}   (stdio: starts it)
//     or {"url": "http://...", "headers": {...}, "steps": [...]}   (streamable HTTP: a running one)
//   step: {"op": "listTools"} | {"op": "listResources"} | {"op": "readResource", "uri": "..."}
//       | {"op": "callTool", "name": "...", "arguments": {...}}
//       | {"op": "together", "steps": [step, ...]}   (sent at once, answered in any order)
// stdout: {"server": {...}, "instructions": "...", "results": [...], "stderr": "..."}
//   Each result is what the SDK returned, or {"thrown": message} if it threw (a protocol
//   error, or an answer the SDK refused, e.g. structured content its output schema rejects).

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const input = JSON.parse(await new Promise((resolve) => {
  let text = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk) => (text += chunk));
  process.stdin.on("end", () => resolve(text));
}));

let stderr = "";
let transport;
if (input.url) {
  transport = new StreamableHTTPClientTransport(new URL(input.url), {
    requestInit: { headers: input.headers ?? {} },
  });
} else {
  transport = new StdioClientTransport({
    command: input.command,
    args: input.args,
    env: input.env,
    stderr: "pipe",
  });
  transport.stderr.setEncoding("utf8");
  transport.stderr.on("data", (chunk) => (stderr += chunk));
}

const client = new Client({ name: "tenant-sync-tests", version: "0.1.0" });

async function step(s) {
  try {
    switch (s.op) {
      case "listTools":
        return await client.listTools();
      case "listResources":
        return await client.listResources();
      case "readResource":
        return await client.readResource({ uri: s.uri });
      case "callTool":
        // listTools first, so the SDK knows each tool's output schema and checks the answer.
        return await client.callTool({ name: s.name, arguments: s.arguments ?? {} });
      case "together":
        return await Promise.all(s.steps.map(step));
      default:
        throw new Error(`unknown step ${s.op}`);
    }
  } catch (error) {
    return { thrown: String(error?.message ?? error) };
  }
}

const output = { results: [] };
try {
  await client.connect(transport);
  output.server = client.getServerVersion();
  output.instructions = client.getInstructions();
  await client.listTools();
  for (const s of input.steps) {
    output.results.push(await step(s));
  }
} catch (error) {
  output.failed = String(error?.message ?? error);
} finally {
  await client.close().catch(() => {});
  // The server's last lines arrive after it has seen stdin close.
  if (!input.url) await new Promise((resolve) => setTimeout(resolve, 100));
  output.stderr = stderr;
  process.stdout.write(JSON.stringify(output));
}
