// The automation form without JavaScript is a plain formset (positions typed as numbers, one
// blank spare step, left out unless filled in). This replaces the spare with an "Add a step"
// button (a step pre-filled with the default email, added only when asked for), adds move up /
// down buttons that renumber positions, and shows only the fields of the chosen action.
(function () {
  "use strict";

  var form = document.getElementById("automation-form");
  if (!form) return;
  var list = document.getElementById("steps");
  var template = document.getElementById("step-template");
  var addButton = document.getElementById("add-step");
  var total = form.querySelector('input[name="steps-TOTAL_FORMS"]');

  function steps() {
    return Array.prototype.slice.call(list.querySelectorAll("[data-step]"));
  }

  function renumber() {
    steps().forEach(function (step, index) {
      var position = step.querySelector(".step-position");
      if (position) position.value = index + 1;
      var legend = step.querySelector("legend");
      if (legend) legend.textContent = "Step " + (index + 1);
    });
  }

  function showFieldsFor(step) {
    var select = step.querySelector('select[name$="-action"]');
    if (!select) return;
    step.querySelectorAll("[data-step-field]").forEach(function (row) {
      var groups = row.getAttribute("data-step-field").split(" ");
      row.hidden = groups.indexOf(select.value) === -1;
    });
  }

  function button(label, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "btn btn-secondary";
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  function enhance(step) {
    var bar = document.createElement("div");
    bar.className = "toolbar";
    bar.appendChild(button("Move up", function () {
      var previous = step.previousElementSibling;
      if (previous) list.insertBefore(step, previous);
      renumber();
    }));
    bar.appendChild(button("Move down", function () {
      var next = step.nextElementSibling;
      if (next) list.insertBefore(next, step);
      renumber();
    }));
    step.insertBefore(bar, step.querySelector("legend").nextSibling);
    var select = step.querySelector('select[name$="-action"]');
    if (select) select.addEventListener("change", function () { showFieldsFor(step); });
    var remove = step.querySelector('input[name$="-DELETE"]');
    if (remove) remove.addEventListener("change", function () { step.classList.toggle("step-removed", remove.checked); });
    showFieldsFor(step);
  }

  if (template && addButton && total) {
    // The spare is always the last form, so dropping it leaves the indexes contiguous.
    list.querySelectorAll("[data-spare]").forEach(function (spare) {
      spare.remove();
      total.value = String(parseInt(total.value, 10) - 1);
    });
  }

  steps().forEach(enhance);
  renumber();

  if (template && addButton && total) {
    addButton.hidden = false;
    addButton.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      var holder = document.createElement("div");
      holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index));
      var step = holder.querySelector("[data-step]");
      list.appendChild(step);
      total.value = String(index + 1);
      enhance(step);
      renumber();
      var first = step.querySelector("input, select, textarea");
      if (first) first.focus();
    });
  }
})();
