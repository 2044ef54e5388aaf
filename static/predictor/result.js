// Draws each digit's probability chart from the figure spec the server embedded in the page.
(function () {
  if (!window.Plotly) return;
  var targets = document.querySelectorAll("[data-chart]");
  targets.forEach(function (target) {
    var spec = document.getElementById(target.dataset.chart);
    if (!spec) return;
    var figure = JSON.parse(spec.textContent);
    window.Plotly.newPlot(target, figure.data, figure.layout, {displayModeBar: false, responsive: true});
  });
  if (targets.length) document.body.classList.add("chart-drawn");
})();
