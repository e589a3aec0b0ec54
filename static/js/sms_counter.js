// The length of a text step's message in SMS segments, live as the merchant types: GSM-7 when
// every character is in the GSM 03.38 alphabet (160 per text, 153 per part of a longer one; the
// extension characters count twice), else UCS-2 (70, or 67 per part). The server computes the
// same (automations/messages/sms.py) for the page as first shown and for the preview.
(function () {
  "use strict";

  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENDED = "^{}\\[~]|€\f";

  function measure(text) {
    var gsm = true;
    var septets = 0;
    for (var i = 0; i < text.length; i++) {
      var c = text.charAt(i);
      if (BASIC.indexOf(c) !== -1) septets += 1;
      else if (EXTENDED.indexOf(c) !== -1) septets += 2;
      else { gsm = false; break; }
    }
    // JavaScript strings are UTF-16: `length` counts code units, as UCS-2 segments do.
    var units = gsm ? septets : text.length;
    var single = gsm ? 160 : 70;
    var multi = gsm ? 153 : 67;
    var segments = units === 0 ? 0 : units <= single ? 1 : Math.ceil(units / multi);
    return { encoding: gsm ? "GSM-7" : "UCS-2", units: units, segments: segments,
      perSegment: segments > 1 ? multi : single };
  }

  function update(textarea) {
    var step = textarea.closest("[data-step]");
    var out = step && step.querySelector("[data-sms-length]");
    if (!out) return;
    var m = measure(textarea.value.replace(/\r\n/g, "\n"));
    var text = m.units + " characters, " + m.encoding + ", " + m.segments + " segment" + (m.segments === 1 ? "" : "s");
    if (m.segments) text += " (up to " + m.perSegment + " characters each)";
    var rest = out.textContent.indexOf(";");
    out.textContent = text + (rest === -1 ? "" : out.textContent.slice(rest));
  }

  // Delegated: steps added with "Add a step" count too.
  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target.matches && target.matches('textarea[name$="-message"]')) update(target);
  });
  document.querySelectorAll('textarea[name$="-message"]').forEach(update);
})();
