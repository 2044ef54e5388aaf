// Draws the probability chart from the figure spec the server embedded in the page.
(function () {
  var spec = document.getElementById("probability-chart-data");
  var target = document.getElementById("probability-chart");
  if (!spec || !target || !window.Plotly) return;
  var figure = JSON.parse(spec.textContent);
  window.Plotly.newPlot(target, figure.data, figure.layout, {displayModeBar: false, responsive: true});
  document.body.classList.add("chart-drawn");
})();
