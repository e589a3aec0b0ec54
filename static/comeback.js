/*! comeback.js: sends a storefront's GA4 checkout events to Comeback, only with consent.
 *
 * <script src="https://comeback.example.com/static/comeback.js" data-key="pk_…" async></script>
 *
 * Reads the GA4 e-commerce events the page pushes to dataLayer (begin_checkout, add_shipping_info,
 * add_payment_info, purchase) and beacons them with the publishable key. Sends nothing until the
 * page's consent allows it: Google Consent Mode (analytics_storage granted), data-consent="granted"
 * on the tag, or window.comeback.consent(true). With data-capture="contact" on the tag (the merchant
 * turned capture on) and ad_user_data granted too (or the explicit consent above), it also picks up
 * the email or phone typed in the checkout form. No dependencies; it never reads anything back.
 */
(function (w, d) {
  "use strict";
  if (w.comeback && w.comeback.version) return;
  var tag = d.currentScript || d.querySelector("script[data-key^='pk_']");
  if (!tag) return;
  var key = tag.getAttribute("data-key") || "";
  var endpoint = tag.getAttribute("data-endpoint") || new URL("/connect/browser/events", tag.src).href;
  var capture = tag.getAttribute("data-capture") === "contact";
  var attr = tag.getAttribute("data-consent");
  var STEPS = { begin_checkout: 1, add_shipping_info: 1, add_payment_info: 1 };
  var EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]{2,}$/;
  var SID = "comeback_sid";
  // Consent: an explicit call or flag wins; then the tag's attribute; then Consent Mode as folded from dataLayer.
  var mode = {};
  var explicit = attr === "granted" || attr === "true" ? true : attr === "denied" || attr === "false" ? false : null;
  var state = { checkout: null, email: "", phone: "" };
  var session = null;

  function tracking() {
    return explicit !== null ? explicit : mode.analytics_storage === "granted";
  }
  function contactAllowed() {
    return capture && tracking() && (explicit !== null ? explicit : mode.ad_user_data === "granted");
  }
  function sessionId() {
    if (session) return session;
    try {
      session = w.sessionStorage.getItem(SID);
    } catch (e) {}
    if (!session) {
      var bytes = new Uint8Array(12);
      (w.crypto || w.msCrypto).getRandomValues(bytes);
      session = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    }
    try {
      w.sessionStorage.setItem(SID, session);
    } catch (e) {}
    return session;
  }

  function send(event) {
    if (!tracking()) return false;
    if (contactAllowed()) {
      if (state.email) event.email = state.email;
      if (state.phone) event.phone = state.phone;
    }
    event.url = w.location.href;
    event.lang = d.documentElement.lang || "";
    var body = JSON.stringify({ key: key, session: sessionId(), events: [event] });
    // text/plain: a CORS "simple" request, so no preflight; the answer is never read.
    var blob = new Blob([body], { type: "text/plain" });
    if (w.navigator.sendBeacon && w.navigator.sendBeacon(endpoint, blob)) return true;
    if (w.fetch) w.fetch(endpoint, { method: "POST", body: blob, keepalive: true, mode: "cors", credentials: "omit" });
    return true;
  }

  function sendCheckout() {
    if (state.checkout) send({ name: state.checkout.name, ecommerce: state.checkout.ecommerce });
  }

  function onEvent(name, params) {
    if (!params || typeof params !== "object") return;
    if (STEPS[name]) {
      state.checkout = { name: name, ecommerce: params };
      sendCheckout();
    } else if (name === "purchase") {
      send({ name: "purchase", ecommerce: { transaction_id: String(params.transaction_id || "") } });
      state.checkout = null;
      session = null;
      try {
        w.sessionStorage.removeItem(SID);
      } catch (e) {}
    }
  }

  function setConsent(granted) {
    var was = tracking();
    explicit = !!granted;
    if (!was && tracking()) sendCheckout();
  }

  function read(entry) {
    if (!entry || typeof entry !== "object") return;
    var list = Object.prototype.toString.call(entry) === "[object Arguments]" || Array.isArray(entry);
    if (list) {
      if (entry[0] === "consent" && entry[2] && typeof entry[2] === "object") {
        var was = tracking();
        for (var k in entry[2]) mode[k] = entry[2][k];
        if (!was && tracking()) sendCheckout();
      } else if (entry[0] === "event") {
        onEvent(entry[1], entry[2]);
      }
    } else if (entry.event === "comeback_consent") {
      setConsent(entry.tracking);
    } else if (entry.event) {
      onEvent(entry.event, entry.ecommerce);
    }
  }

  function watch(input) {
    var type = (input.type || "").toLowerCase();
    var hint = ((input.name || "") + " " + (input.autocomplete || "") + " " + (input.id || "")).toLowerCase();
    var value = (input.value || "").trim();
    if ((type === "email" || hint.indexOf("email") >= 0) && EMAIL.test(value)) {
      if (value === state.email) return;
      state.email = value;
    } else if ((type === "tel" || hint.indexOf("phone") >= 0 || hint.indexOf("tel") >= 0) && /\d{6,}/.test(value.replace(/\D/g, ""))) {
      if (value === state.phone) return;
      state.phone = value;
    } else {
      return;
    }
    if (contactAllowed()) sendCheckout();
  }

  function onInput(e) {
    if (capture && e.target && e.target.tagName === "INPUT") watch(e.target);
  }
  d.addEventListener("change", onInput, true);
  d.addEventListener("blur", onInput, true);

  var layer = (w.dataLayer = w.dataLayer || []);
  for (var i = 0; i < layer.length; i++) read(layer[i]);
  var push = layer.push;
  layer.push = function () {
    var result = push.apply(layer, arguments);
    for (var j = 0; j < arguments.length; j++) read(arguments[j]);
    return result;
  };

  w.comeback = { version: 1, consent: setConsent };
})(window, document);
