// Drive the sandbox's Events API with the official `twilio` helper library for Node (npm),
// a client nobody in this project wrote. Lists every sink page by page (the library follows
// each answer's absolute next_page_url) through ONE keep-alive http.Agent socket pool, and
// reports what it saw as JSON on stdout: sids, pages, and how many sockets were opened.
//
// Environment: EMULATOR_URL, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, PAGE_SIZE, KEEP_ALIVE
// ("1": keep-alive, "0": the library's Connection: close mode).
"use strict";
const http = require("http");
const twilio = require("twilio");

async function main() {
  const keepAlive = process.env.KEEP_ALIVE === "1";
  const agent = new http.Agent({ keepAlive, maxSockets: 1 });
  let sockets = 0;
  const create = agent.createConnection.bind(agent);
  agent.createConnection = (...args) => {
    sockets += 1;
    return create(...args);
  };
  const httpClient = new twilio.RequestClient({ keepAlive });
  httpClient.axios.defaults.httpAgent = agent;
  const client = twilio(process.env.TWILIO_ACCOUNT_SID, process.env.TWILIO_AUTH_TOKEN, {
    httpClient,
  });
  client.events.baseUrl = process.env.EMULATOR_URL;

  const pageSize = Number(process.env.PAGE_SIZE);
  const sids = [];
  let pages = 0;
  let page = await client.events.v1.sinks.page({ pageSize });
  for (;;) {
    pages += 1;
    for (const sink of page.instances) sids.push(sink.sid);
    const next = await page.nextPage();
    if (!next) break;
    page = next;
  }
  const listed = await client.events.v1.sinks.list({ pageSize });
  process.stdout.write(
    JSON.stringify({ sids, pages, listed: listed.map((s) => s.sid), sockets }) + "\n"
  );
  agent.destroy();
}

main().catch((err) => {
  process.stderr.write(String((err && err.stack) || err) + "\n");
  process.exit(1);
});
