/* Comeback dashboard behaviour. Loaded with `defer` on every page; no inline scripts anywhere
   (strict CSP), so everything hooks in through data-attributes and delegated listeners, which
   also keeps working for fragments htmx swaps in. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  function announce(text) {
    var live = document.getElementById("live");
    if (!live) return;
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 30);
  }

  /* ---- Copy buttons: data-copy="text to copy" --------------------------------------- */
  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "sr-only";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }

  function showCopied(button, ok) {
    var label = button.querySelector(".copy-label") || button;
    if (!button.dataset.label) button.dataset.label = label.textContent;
    label.textContent = ok ? "Copied!" : "Press Ctrl+C";
    button.classList.toggle("copied", ok);
    announce(ok ? "Recovery link copied to the clipboard." : "Could not copy; select the link and copy it.");
    window.clearTimeout(button._copyTimer);
    button._copyTimer = window.setTimeout(function () {
      label.textContent = button.dataset.label;
      button.classList.remove("copied");
    }, 2000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    event.preventDefault();
    copyText(button.getAttribute("data-copy")).then(
      function () { showCopied(button, true); },
      function () {
        showCopied(button, false);
        var target = button.getAttribute("data-copy-target");
        var input = target && document.getElementById(target);
        if (input) { input.focus(); input.select(); }
      }
    );
  });

  /* ---- Confirmation for small destructive forms: data-confirm="Question?" --------------- */
  /* ---- The phone menu: the sidebar folds into a Menu button on small screens ---------- */
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-menu-toggle]");
    if (!button) return;
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    button.textContent = open ? "Close" : "Menu";
    document.getElementById(button.getAttribute("aria-controls")).classList.toggle("open", open);
  });

  /* ---- Reveal buttons: data-reveal="id of a masked input" shows or masks it again ------- */
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-reveal]");
    if (!button) return;
    var input = document.getElementById(button.getAttribute("data-reveal"));
    if (!input) return;
    var reveal = input.type === "password";
    input.type = reveal ? "text" : "password";
    button.textContent = reveal ? "Hide" : "Reveal";
    button.setAttribute("aria-pressed", reveal ? "true" : "false");
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var question = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);

  /* ---- Selects that submit their form on change (store switcher, per-page) -------------- */
  document.addEventListener("change", function (event) {
    var select = event.target.closest("select[data-autosubmit]");
    if (select && select.form) select.form.requestSubmit();
  });

  /* ---- Row selection and the bulk bar --------------------------------------------------- */
  function updateSelection(scope) {
    var form = scope.closest("form[data-bulk]") || scope.querySelector("form[data-bulk]");
    if (!form) return;
    var boxes = form.querySelectorAll("input[name='ids']");
    var checked = form.querySelectorAll("input[name='ids']:checked");
    var all = form.querySelector("input[data-select-all]");
    if (all) {
      all.checked = boxes.length > 0 && checked.length === boxes.length;
      all.indeterminate = checked.length > 0 && checked.length < boxes.length;
    }
    boxes.forEach(function (box) { box.closest("tr").classList.toggle("selected", box.checked); });
    var matching = form.querySelector("input[data-select-matching]");
    var everything = matching && matching.checked;
    var count = form.querySelector("[data-selected-count]");
    if (count) {
      count.textContent = everything ? "All " + matching.getAttribute("data-count") + " matching selected"
        : checked.length ? checked.length + " selected" : "";
    }
    form.querySelectorAll("[data-needs-selection]").forEach(function (button) {
      button.disabled = checked.length === 0 && !everything;
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("input[data-select-all]")) {
      target.form.querySelectorAll("input[name='ids']").forEach(function (box) { box.checked = target.checked; });
    }
    if (target.matches("input[data-select-matching]")) {
      // "All matching" covers this page's rows too; unticking a row leaves it.
      target.form.querySelectorAll("input[name='ids'], input[data-select-all]").forEach(function (box) {
        box.checked = target.checked;
      });
    }
    if (target.matches("input[name='ids']") && !target.checked) {
      var matching = target.form.querySelector("input[data-select-matching]");
      if (matching) matching.checked = false;
    }
    if (target.matches("input[data-select-all], input[name='ids'], input[data-select-matching]")) updateSelection(target);
  });

  /* ---- Period pickers: custom dates only when "Custom range" is chosen ---------------- */
  function syncPeriod(select) {
    var box = document.getElementById(select.getAttribute("data-period-toggle"));
    if (!box) return;
    var custom = select.value === "custom";
    box.hidden = !custom;
    box.querySelectorAll("input").forEach(function (input) { input.disabled = !custom; });
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-period-toggle]")) syncPeriod(event.target);
  });

  /* ---- htmx: leave empty fields out of the URL, so shared links stay short ------------- */
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb !== "get") return;
    var params = event.detail.parameters;
    Object.keys(params).forEach(function (name) {
      var values = [].concat(params[name]);
      if (values.every(function (value) { return value === ""; })) delete params[name];
    });
  });

  function init(root) {
    root.querySelectorAll("select[data-period-toggle]").forEach(syncPeriod);
    root.querySelectorAll("form[data-bulk]").forEach(function (form) { updateSelection(form); });
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSwap", function (event) { init(event.detail.elt || document); });
})();
