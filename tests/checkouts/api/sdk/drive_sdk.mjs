// Drives Wix's own JavaScript SDK (@wix/sdk + @wix/auto_sdk_ecom_abandoned-checkouts) against a
// running Comeback, unchanged: only `fetch` is wrapped, to send the SDK's https://www.wixapis.com
// requests to the server under test. Prints one JSON report; the pytest test asserts on it.
//
//   node drive_sdk.mjs <base-url> <credentials> <site-id> <id-to-get> <id-to-delete> <ids-to-bulk-delete,…>
//
// <credentials> is an API key (ApiKeyStrategy), or `app:<client id>:<client secret>` for AppStrategy
// with the site id as its instanceId: the SDK then gets its token from POST /oauth2/token itself.
import { ApiKeyStrategy, AppStrategy, createClient } from "@wix/sdk";
import * as abandonedCheckouts from "@wix/auto_sdk_ecom_abandoned-checkouts";

const [baseUrl, credentials, siteId, getId, deleteId, bulkIds] = process.argv.slice(2);
const seen = [];
const realFetch = globalThis.fetch;
const toComeback = (url, init) => {
  const target = String(url).replace("https://www.wixapis.com", baseUrl);
  seen.push(`${init?.method ?? "GET"} ${target.slice(baseUrl.length)}`);
  return realFetch(target, init);
};
// AppStrategy calls the global fetch for its token, whatever createClient is given.
globalThis.fetch = toComeback;
const [, appId, appSecret] = credentials.startsWith("app:") ? credentials.split(":") : [];
const client = createClient({
  auth: appId ? AppStrategy({ appId, appSecret, instanceId: siteId }) : ApiKeyStrategy({ apiKey: credentials, siteId }),
  modules: { abandonedCheckouts },
  fetch: toComeback,
});
const api = client.abandonedCheckouts;

async function failure(call) {
  try {
    await call();
    return null;
  } catch (error) {
    const data = error?.details ?? error?.response?.data ?? {};
    return { message: error.message, status: error?.response?.status ?? error?.httpStatus, data };
  }
}

const report = {};
const one = await api.getAbandonedCheckout(getId);
report.get = {
  _id: one._id,
  status: one.status,
  createdDate: one._createdDate instanceof Date,
  checkoutUrl: one.checkoutUrl,
  images: (one.lineItems ?? []).map((item) => item.image ?? null),
};
report.getMissing = await failure(() => api.getAbandonedCheckout("00000000-0000-4000-8000-000000000000"));

let page = await api.queryAbandonedCheckouts().eq("status", "ABANDONED").descending("_createdDate").limit(7).find();
const queried = page.items.map((item) => item._id);
report.firstPage = { length: page.items.length, hasNext: page.hasNext() };
while (page.hasNext()) {
  page = await page.next();
  queried.push(...page.items.map((item) => item._id));
}
report.queried = queried;
const ascending = await api.queryAbandonedCheckouts().ascending("_createdDate").limit(3).find();
report.ascendingFirst = ascending.items.map((item) => item._id);
const byEmail = await api.queryAbandonedCheckouts().startsWith("buyerInfo.email", one.buyerInfo?.email?.slice(0, 4) ?? "").limit(100).find();
report.byEmailPrefix = byEmail.items.map((item) => item._id);
report.badField = await failure(() => api.queryAbandonedCheckouts().eq("checkoutId", "x").find());

const searched = await api.searchAbandonedCheckouts({
  search: { expression: one.contactDetails?.firstName ?? "", mode: "OR" },
  filter: { status: { $eq: "ABANDONED" } },
  sort: [{ fieldName: "_createdDate", order: "DESC" }],
  cursorPaging: { limit: 100 },
});
report.searched = searched.abandonedCheckouts.map((item) => item._id);
report.searchCount = searched.pagingMetadata?.count;

const analytics = await api.getAbandonedCheckoutAnalytics("2000-01-01", { endDate: "2100-01-01" });
report.analytics = analytics;

await api.deleteAbandonedCheckout(deleteId);
report.deleteAgain = await failure(() => api.deleteAbandonedCheckout(deleteId));
report.bulk = await api.bulkDeleteAbandonedCheckouts(bulkIds.split(","));
report.requests = seen;
console.log(JSON.stringify(report));
