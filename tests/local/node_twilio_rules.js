// The sandbox's Event Streams rules as the official `twilio` helper library for Node (npm)
// sees them: a webhook sink without a method, a second subscription on one sink, a restricted
// type, the catalogue size and the Studio schema version. Prints one JSON document.
//
// Environment: EMULATOR_URL, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, DESTINATION
"use strict";
const twilio = require("twilio");

async function refusal(promise) {
  try {
    await promise;
    return null;
  } catch (err) {
    return { status: err.status, code: err.code, message: err.message };
  }
}

async function main() {
  const client = twilio(process.env.TWILIO_ACCOUNT_SID, process.env.TWILIO_AUTH_TOKEN);
  client.events.baseUrl = process.env.EMULATOR_URL;
  const v1 = client.events.v1;
  const sink = await v1.sinks.create({
    description: "node",
    sinkType: "webhook",
    sinkConfiguration: { destination: process.env.DESTINATION },
  });
  const types = [{ type: "com.twilio.messaging.message.delivered" }];
  const first = await v1.subscriptions.create({ description: "one", sinkSid: sink.sid, types });
  const second = await refusal(
    v1.subscriptions.create({ description: "two", sinkSid: sink.sid, types })
  );
  const other = await v1.sinks.create({
    description: "node 2",
    sinkType: "webhook",
    sinkConfiguration: { destination: process.env.DESTINATION, method: "GET" },
  });
  const restricted = await refusal(
    v1.subscriptions.create({
      description: "r",
      sinkSid: other.sid,
      types: [{ type: "com.twilio.accountsecurity.verify.attempt-dlr.sent" }],
    })
  );
  const missing = await refusal(v1.sinks("DG" + "0".repeat(32)).fetch());
  const eventTypes = await v1.eventTypes.list({ pageSize: 50 });
  const studio = await v1.schemas("Studio.FlowExecutionEvent").fetch();
  process.stdout.write(
    JSON.stringify({
      method: sink.sinkConfiguration.method,
      getMethod: other.sinkConfiguration.method,
      first: first.sid,
      second,
      restricted,
      missing,
      types: eventTypes.length,
      studio: studio.latestVersion,
    }) + "\n"
  );
}

main().catch((err) => {
  process.stderr.write(String((err && err.stack) || err) + "\n");
  process.exit(1);
});
