// A receiver written the way a Wix app is: @wix/sdk's AppStrategy with the site's public key,
// the typed abandoned-checkout event handlers, and client.webhooks.process(body) per request.
// Input (argv[2], JSON): {appId, publicKey, bodies: [jwt, ...]}. Output (stdout, JSON):
// {results: ["ok" | "error: ..."], handled: [what each handler received, summarised]}.
import { readFileSync } from "node:fs";
import { AppStrategy, createClient } from "@wix/sdk";
import {
  onAbandonedCheckoutCreated,
  onAbandonedCheckoutDeleted,
  onAbandonedCheckoutRecovered,
  onAbandonedCheckoutUpdated,
} from "@wix/auto_sdk_ecom_abandoned-checkouts";

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const client = createClient({
  auth: AppStrategy({ appId: input.appId, publicKey: input.publicKey }),
  modules: {
    abandonedCheckouts: {
      onAbandonedCheckoutCreated,
      onAbandonedCheckoutUpdated,
      onAbandonedCheckoutDeleted,
      onAbandonedCheckoutRecovered,
    },
  },
});

const handled = [];
const summary = (kind, entity, metadata) => ({
  kind,
  id: entity?._id,
  status: entity?.status,
  createdDateIsDate: entity?._createdDate instanceof Date,
  createdDate: entity?._createdDate?.toISOString(),
  total: entity?.totalPrice?.amount,
  email: entity?.buyerInfo?.email,
  sequence: metadata.entityEventSequence,
  eventId: metadata._id ?? metadata.id,
  entityId: metadata.entityId,
  instanceId: metadata.instanceId,
  eventTimeIsDate: metadata.eventTime instanceof Date,
  identity: metadata.identity,
});
client.abandonedCheckouts.onAbandonedCheckoutCreated((e) => handled.push(summary("created", e.entity, e.metadata)));
client.abandonedCheckouts.onAbandonedCheckoutUpdated((e) => handled.push(summary("updated", e.entity, e.metadata)));
client.abandonedCheckouts.onAbandonedCheckoutDeleted((e) => handled.push(summary("deleted", e.entity, e.metadata)));
client.abandonedCheckouts.onAbandonedCheckoutRecovered((e) =>
  handled.push(summary("recovered", e.data.abandonedCheckout, e.metadata)),
);

const results = [];
for (const body of input.bodies) {
  try {
    await client.webhooks.process(body);
    results.push("ok");
  } catch (error) {
    results.push(`error: ${error.message}`);
  }
}
process.stdout.write(JSON.stringify({ results, handled }));
