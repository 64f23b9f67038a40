/* The overview's charts, drawn with the vendored Chart.js (vendor/README.md) from the figures
   the page carries in <script type="application/json" id="dashboard-charts">. Clicking a bar
   opens the list behind it; the table under each chart holds the same numbers and links. */
(function () {
  "use strict";
  var PALETTE = ["#0b6bcb", "#e07b00", "#2f9e44", "#c92a2a", "#7048e8", "#0c8599", "#a61e4d", "#5c940d", "#495057", "#d9480f"];

  function draw(spec) {
    var canvas = document.getElementById("chart-" + spec.id);
    if (!canvas) {
      return;
    }
    var datasets = spec.datasets.map(function (d, i) {
      var colour = PALETTE[i % PALETTE.length];
      return { label: d.label, data: d.data, backgroundColor: colour, borderColor: colour, borderWidth: 1 };
    });
    function linkOf(elements) {
      if (!elements.length) {
        return null;
      }
      return spec.datasets[elements[0].datasetIndex].links[elements[0].index] || null;
    }
    new Chart(canvas, {
      type: "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "nearest", intersect: true },
        plugins: { legend: { display: datasets.length > 1, position: "bottom" } },
        scales: {
          x: { stacked: spec.stacked },
          y: { stacked: spec.stacked, beginAtZero: true, ticks: { precision: 0 } }
        },
        onHover: function (event, elements) {
          event.native.target.style.cursor = linkOf(elements) ? "pointer" : "default";
        },
        onClick: function (event, elements) {
          var href = linkOf(elements);
          if (href) {
            window.location.assign(href);
          }
        }
      }
    });
    canvas.setAttribute("data-rendered", "true");
  }

  function start() {
    var source = document.getElementById("dashboard-charts");
    if (!source || typeof Chart === "undefined") {
      return;
    }
    JSON.parse(source.textContent).forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
