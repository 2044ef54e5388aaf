"""The probability chart as a Plotly figure spec (plain JSON; plotly.js draws it in the page).

Building the dict directly keeps the `plotly` Python package out of the serving process: it costs
over a second of import time and tens of MiB per worker, for a ten-bar chart.
"""

from __future__ import annotations


def probability_chart(probabilities: list[float]) -> dict:
    best = max(range(len(probabilities)), key=probabilities.__getitem__)
    colours = ["#2563eb" if digit == best else "#94a3b8" for digit in range(len(probabilities))]
    return {
        "data": [
            {
                "type": "bar",
                "x": [str(digit) for digit in range(len(probabilities))],
                "y": [round(p, 6) for p in probabilities],
                "marker": {"color": colours},
                "hovertemplate": "digit %{x}: %{y:.1%}<extra></extra>",
            }
        ],
        "layout": {
            "title": {"text": "Probability of each digit"},
            "xaxis": {"title": {"text": "digit"}, "type": "category"},
            "yaxis": {"title": {"text": "probability"}, "range": [0, 1], "tickformat": ".0%"},
            "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
            "height": 320,
        },
    }
