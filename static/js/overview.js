/* The overview's daily chart. Its data comes from the page's json_script block
   (#daily-chart-data): labels, decimal strings for bar heights, formatted tooltip texts. */
(function () {
  "use strict";

  function draw() {
    var canvas = document.getElementById("daily-chart");
    var source = document.getElementById("daily-chart-data");
    if (!canvas || !source || !window.Chart) return;
    var data = JSON.parse(source.textContent);
    var money;
    try {
      money = new Intl.NumberFormat(data.locale, {
        style: "currency", currency: data.currency, notation: "compact", maximumFractionDigits: 1
      });
    } catch (e) {
      money = new Intl.NumberFormat(undefined, { notation: "compact" });
    }
    var texts = { 0: data.abandonedText, 1: data.recoveredText };
    window.Chart.defaults.font.family = window.getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.color = "#667085";
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: "Abandoned", data: data.abandoned.map(Number), backgroundColor: "#fdb022", borderRadius: 3,
            maxBarThickness: 28 },
          { label: "Recovered", data: data.recovered.map(Number), backgroundColor: "#17b26a", borderRadius: 3,
            maxBarThickness: 28 }
        ]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
          y: { beginAtZero: true, ticks: { callback: function (value) { return money.format(value); } } }
        },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12, boxHeight: 12 } },
          tooltip: {
            callbacks: {
              label: function (item) { return item.dataset.label + ": " + texts[item.datasetIndex][item.dataIndex]; }
            }
          }
        }
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
