// Draw pad, drag-and-drop, paste and in-page results. Without JavaScript the plain form still works.
(function () {
  "use strict";
  var form = document.querySelector(".upload-form");
  var fileInput = document.getElementById("id_image");
  var pad = document.getElementById("drawpad");
  if (!form || !fileInput) return;

  // --- Camera photos are shrunk before they are sent. ------------------------------------------
  // A phone camera's JPEG (12 MP and more, 2-10 MB) holds far more than the server reads, which
  // works at 250 px. Sent with its longer side at the form's data-photo-side it is a tenth of the
  // bytes or less, the server decodes it several times faster, and it fits the upload limit; EXIF
  // rotation is applied on the way. Anything else (PNG, GIF, a drawing, a canvas) goes as it is.
  var photoSide = Number(form.dataset.photoSide) || 0;
  var uploadStatus = document.getElementById("upload-status");
  function shrunkPhoto(file) {
    if (!photoSide || file.type !== "image/jpeg" || !window.createImageBitmap) return Promise.resolve(file);
    return createImageBitmap(file, {imageOrientation: "from-image"}).then(function (bitmap) {
      var scale = photoSide / Math.max(bitmap.width, bitmap.height);
      if (scale >= 1) { bitmap.close(); return file; }
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      var context2d = canvas.getContext("2d");
      context2d.imageSmoothingQuality = "high";
      context2d.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      bitmap.close();
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          var smaller = blob && blob.size < file.size;
          resolve(smaller ? new File([blob], file.name.replace(/\.[^.]*$/, "") + ".jpg", {type: "image/jpeg"}) : file);
        }, "image/jpeg", 0.92);
      });
    }).catch(function () { return file; });  // the browser cannot read it: the server will say why
  }
  function send(file) {
    if (uploadStatus) uploadStatus.textContent = "Sending the picture…";
    shrunkPhoto(file).then(function (upload) {
      if (upload !== fileInput.files[0]) {
        try {
          var transfer = new DataTransfer();
          transfer.items.add(upload);
          fileInput.files = transfer.files;
        } catch (error) { /* no DataTransfer: the chosen file goes as it is */ }
      }
      form.submit();
    });
  }

  // --- Upload by choosing, dropping or pasting a file: it goes in the form, which is submitted. --
  function submitFile(file) {
    if (!file || !/^image\//.test(file.type)) return;
    send(file);
  }
  var dropZone = document.getElementById("drop-zone");
  if (dropZone) {
    ["dragenter", "dragover"].forEach(function (name) {
      dropZone.addEventListener(name, function (event) { event.preventDefault(); dropZone.classList.add("dragging"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      dropZone.addEventListener(name, function () { dropZone.classList.remove("dragging"); });
    });
    dropZone.addEventListener("drop", function (event) {
      event.preventDefault();
      submitFile(event.dataTransfer.files[0]);
    });
  }
  document.addEventListener("paste", function (event) {
    var items = (event.clipboardData || {}).items || [];
    for (var i = 0; i < items.length; i++) {
      if (items[i].kind === "file") { submitFile(items[i].getAsFile()); return; }
    }
  });
  fileInput.addEventListener("change", function () { if (fileInput.files.length) send(fileInput.files[0]); });

  if (!pad) return;
  // --- Draw pad: strokes as wide, relative to the pad, as MNIST strokes are in 28×28. ----------
  var context = pad.getContext("2d");
  var strokes = [];
  var current = null;
  var timer = null;
  var status = document.getElementById("drawpad-status");
  var result = document.getElementById("drawpad-result");

  function penWidth() { return pad.height / 28 * 2.2; }  // a digit is about as tall as the pad
  function redraw() {
    context.fillStyle = "#000";
    context.fillRect(0, 0, pad.width, pad.height);
    context.strokeStyle = "#fff";
    context.lineCap = "round";
    context.lineJoin = "round";
    context.lineWidth = penWidth();
    strokes.forEach(function (stroke) {
      context.beginPath();
      context.moveTo(stroke[0][0], stroke[0][1]);
      stroke.forEach(function (point) { context.lineTo(point[0], point[1]); });
      if (stroke.length === 1) context.lineTo(stroke[0][0] + 0.1, stroke[0][1]);
      context.stroke();
    });
  }
  function point(event) {
    var box = pad.getBoundingClientRect();
    return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
  }
  // plotly.js (1.2 MB of script) runs when the first result is shown, not with the page: people who
  // upload a picture never need it here, the page is ready without parsing it (it only prefetches
  // the file, which the result page needs too), and parsing it never stalls a stroke being drawn.
  var plotly = null;
  function withPlotly(draw) {
    if (!plotly) {
      plotly = window.Plotly ? Promise.resolve() : new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = pad.dataset.plotly;
        script.onload = resolve;
        script.onerror = function () { plotly = null; reject(); };  // the next result tries again
        document.head.appendChild(script);
      });
    }
    plotly.then(draw, function () { /* no chart; the digit and its confidence are shown */ });
  }

  pad.addEventListener("pointerdown", function (event) {
    event.preventDefault();
    try { pad.setPointerCapture(event.pointerId); } catch (error) { /* pointer already gone */ }
    current = [point(event)];
    strokes.push(current);
    clearTimeout(timer);
    redraw();
  });
  pad.addEventListener("pointermove", function (event) {
    if (!current) return;
    current.push(point(event));
    redraw();
  });
  function finish() {
    if (!current) return;
    current = null;
    clearTimeout(timer);
    timer = setTimeout(predict, 350);  // debounced: a digit often takes two strokes
  }
  pad.addEventListener("pointerup", finish);
  pad.addEventListener("pointercancel", finish);
  document.getElementById("drawpad-clear").addEventListener("click", function () {
    strokes = []; redraw(); result.hidden = true; status.textContent = "Cleared.";
  });
  document.getElementById("drawpad-undo").addEventListener("click", function () {
    strokes.pop(); redraw();
    if (strokes.length) { predict(); } else { result.hidden = true; status.textContent = "Nothing drawn."; }
  });

  // The answer shown now, and which of its digits is selected (its chart, maps and correction).
  var reading = null;
  var selected = 0;

  function predict(digitIndex) {
    if (!strokes.length) return;
    status.textContent = "Reading…";
    pad.toBlob(function (blob) {
      var body = new FormData();
      body.append("image", blob, "drawing.png");
      fetch(pad.dataset.api + "?feature_maps=1&digit_index=" + (digitIndex || 0), {method: "POST", body: body})
        .then(function (response) { return response.json().then(function (data) { return [response.status, data]; }); })
        .then(function (answer) { show(answer[0], answer[1]); })
        .catch(function () { status.textContent = "The server could not be reached."; });
    }, "image/png");
  }

  function show(code, data) {
    if (code !== 200) { status.textContent = data.error || "That did not work."; result.hidden = true; reading = null; return; }
    var several = data.digits.length > 1;
    var percent = (data.confidence * 100).toFixed(1);
    var article = several ? "It's " : "It's a ";
    status.textContent = data.uncertain ? "Not sure; best guess " + data.number + " (" + percent + " %)." : article + data.number + ".";
    document.getElementById("drawpad-verdict").textContent = article.trim();
    document.getElementById("drawpad-digit").textContent = data.number;
    document.getElementById("drawpad-confidence").textContent = percent + " % confident" + (data.uncertain ? " — not sure" : "");
    document.getElementById("drawpad-thanks").textContent = "";
    document.getElementById("drawpad-number-form").hidden = !several;
    reading = data;
    selected = data.feature_maps_digit || 0;
    showDigits();
    result.hidden = false;
    showDigit();
  }

  // One button per digit read; the chosen one's chart, maps and correction are shown.
  function showDigits() {
    var strip = document.getElementById("drawpad-digits");
    strip.textContent = "";
    strip.hidden = reading.digits.length < 2;
    reading.digits.forEach(function (digit, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = digit.digit;
      button.dataset.testid = "drawpad-digit-" + index;
      button.setAttribute("aria-pressed", String(index === selected));
      button.setAttribute("aria-label", "Digit " + (index + 1) + ": " + digit.digit + (digit.uncertain ? ", not sure" : ""));
      if (digit.uncertain) button.classList.add("unsure");
      button.addEventListener("click", function () {
        if (index === selected) return;
        selected = index;
        predict(index);  // the same drawing again, for this digit's feature maps
      });
      strip.appendChild(button);
    });
  }

  function showDigit() {
    var digit = reading.digits[selected];
    var several = reading.digits.length > 1;
    document.getElementById("drawpad-correct-label").textContent =
      several ? "No, digit " + (selected + 1) + " is a…" : "No, it's a…";
    document.querySelectorAll("#drawpad-result .digit-choice").forEach(function (button) {
      button.setAttribute("aria-label", (several ? "No, digit " + (selected + 1) + " is a " : "No, it is a ") +
        button.dataset.feedbackLabel);
    });
    document.getElementById("drawpad-input").src = digit.model_input_png;
    showFeatureMaps(reading.feature_maps_digit === selected ? reading.feature_maps || {} : {});
    var chart = document.getElementById("drawpad-chart");
    chart.setAttribute("aria-label", "Probability of each digit" + (several ? " for digit " + (selected + 1) : "") + ": " +
      digit.probabilities.map(function (p, d) { return d + " " + Math.round(p * 100) + " %"; }).join(", "));
    withPlotly(function () {
      window.Plotly.react(chart, [{type: "bar", x: ["0","1","2","3","4","5","6","7","8","9"], y: digit.probabilities,
        marker: {color: digit.probabilities.map(function (p, d) { return d === digit.digit ? "#2563eb" : "#94a3b8"; })},
        hovertemplate: "digit %{x}: %{y:.1%}<extra></extra>"}],
        {height: 260, margin: {l: 50, r: 10, t: 10, b: 40}, yaxis: {range: [0, 1], tickformat: ".0%"}, xaxis: {type: "category"}},
        {displayModeBar: false, responsive: true});
    });
  }

  // Feature maps arrive as uint8, channel-first; each channel becomes one tile of a grid.
  function showFeatureMaps(maps) {
    var holder = document.getElementById("drawpad-maps");
    holder.textContent = "";
    Object.keys(maps).forEach(function (name) {
      var layer = maps[name], h = layer.shape[0], w = layer.shape[1], c = layer.shape[2];
      var bytes = Uint8Array.from(atob(layer.data), function (ch) { return ch.charCodeAt(0); });
      var columns = Math.min(8, c), rows = Math.ceil(c / columns);
      var canvas = document.createElement("canvas");
      canvas.width = columns * (w + 1) - 1;
      canvas.height = rows * (h + 1) - 1;
      canvas.className = "pixelated feature-grid";
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", "Feature maps of layer " + name + ", one tile per filter");
      var context2d = canvas.getContext("2d");
      context2d.fillStyle = "#282828";
      context2d.fillRect(0, 0, canvas.width, canvas.height);
      for (var k = 0; k < c; k++) {
        var image = context2d.createImageData(w, h);
        for (var i = 0; i < w * h; i++) {
          var v = bytes[k * w * h + i];
          image.data[4 * i] = image.data[4 * i + 1] = image.data[4 * i + 2] = v;
          image.data[4 * i + 3] = 255;
        }
        context2d.putImageData(image, (k % columns) * (w + 1), Math.floor(k / columns) * (h + 1));
      }
      var figure = document.createElement("figure");
      var caption = document.createElement("figcaption");
      caption.textContent = name + " · " + h + "×" + w + "×" + c;
      figure.appendChild(caption);
      figure.appendChild(canvas);
      holder.appendChild(figure);
    });
  }

  function sendFeedback(token, label) {
    document.getElementById("drawpad-thanks").textContent = "Sending…";
    fetch(result.dataset.feedbackApi, {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({feedback_token: token, label: label})})
      .then(function (response) { return response.json(); })
      .then(function (data) {
        document.getElementById("drawpad-thanks").textContent = data.error ? data.error :
          "Thank you! A reviewer will check it; approved answers retrain the model.";
      })
      .catch(function () { document.getElementById("drawpad-thanks").textContent = "The server could not be reached."; });
  }
  document.querySelectorAll("[data-feedback-label]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!reading) return;
      if (button.dataset.feedbackLabel === "yes") {  // the whole reading is right
        sendFeedback(reading.feedback_token, reading.digits.length > 1 ? reading.number : reading.digit);
      } else {  // the selected digit is really this one
        sendFeedback(reading.digits[selected].feedback_token, Number(button.dataset.feedbackLabel));
      }
    });
  });
  document.getElementById("drawpad-number-form").addEventListener("submit", function (event) {
    event.preventDefault();
    if (reading) sendFeedback(reading.feedback_token, document.getElementById("drawpad-number").value.trim());
  });
  redraw();
})();
