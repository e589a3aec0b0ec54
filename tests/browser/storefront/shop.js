// A storefront's tags: gtag with Consent Mode, then the GA4 begin_checkout push (Tag Manager style).
window.dataLayer = window.dataLayer || [];
function gtag() { dataLayer.push(arguments); }
var consent = new URLSearchParams(location.search).get("consent") === "granted" ? "granted" : "denied";
gtag("consent", "default", { ad_storage: "denied", analytics_storage: "denied", ad_user_data: "denied", ad_personalization: "denied" });
if (consent === "granted") gtag("consent", "update", { analytics_storage: "granted", ad_user_data: "granted" });
dataLayer.push({ ecommerce: null });
dataLayer.push({ event: "begin_checkout", ecommerce: { currency: "EUR", value: 40.0, coupon: "WELCOME5",
  items: [{ item_id: "MUG-1", item_name: "Mug", item_variant: "Blue", price: 20.0, quantity: 2 }] } });
document.addEventListener("DOMContentLoaded", function () {
  document.getElementById("pay").addEventListener("click", function () {
    gtag("event", "purchase", { transaction_id: "1001", currency: "EUR", value: 40.0, items: [] });
  });
});
