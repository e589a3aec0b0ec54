/* The automation page's funnel chart. Its data comes from the page's json_script block
   (#funnel-chart-data): one label per step (and per A/B variant), one series per stage. */
(function () {
  "use strict";

  var COLOURS = { sent: "#98a2b3", opened: "#84adff", clicked: "#fdb022", recovered: "#17b26a" };
  var NAMES = { sent: "Sent", opened: "Opened", clicked: "Clicked", recovered: "Recovered" };

  function draw() {
    var canvas = document.getElementById("funnel-chart");
    var source = document.getElementById("funnel-chart-data");
    if (!canvas || !source || !window.Chart) return;
    var data = JSON.parse(source.textContent);
    window.Chart.defaults.font.family = window.getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.color = "#667085";
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: Object.keys(data.series).map(function (name) {
          return { label: NAMES[name], data: data.series[name], backgroundColor: COLOURS[name], borderRadius: 3,
                   maxBarThickness: 22 };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: { x: { grid: { display: false } }, y: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12, boxHeight: 12 } } }
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
