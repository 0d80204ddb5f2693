/// The page `GET /` serves: plain HTML with its script and style inline, so that the binary
/// needs no files beside it. It uses only the public API (`/v1/models`, `/v1/predict`,
/// `/v1/streams`), sending the bearer token kept in the browser's localStorage. The test
/// (`BrowserTests`) drives it in headless Chromium through the element ids `model`, `video`,
/// `predict`, `status`, `labels` and `timeline`.
enum WebPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Motive</title>
<style>
  :root { color-scheme: light; --ink: #1d2430; --muted: #5a6472; --line: #d5dae1; --accent: #2456a6; --error: #b3261e; }
  body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--ink); background: #f4f6f9; }
  header, main { max-width: 56rem; margin: 0 auto; padding: 0 1rem; }
  header h1 { margin: 1rem 0 0; font-size: 1.5rem; }
  header p { margin: 0 0 .5rem; color: var(--muted); }
  section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem 1rem; margin: 1rem 0; }
  h2 { font-size: 1.1rem; margin: 0 0 .5rem; }
  h3 { font-size: .95rem; margin: 1rem 0 .25rem; }
  .fields { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; }
  .fields label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); }
  .fields label.check { flex-direction: row; gap: .3rem; align-items: center; }
  input, select, button { font: inherit; }
  input[type=text], input[type=password], select { padding: .25rem .4rem; border: 1px solid var(--line); border-radius: 4px; min-width: 10rem; }
  input.short { min-width: 0; width: 4rem; }
  button { padding: .3rem .9rem; border: 1px solid var(--accent); border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; }
  button.plain { background: #fff; color: var(--accent); }
  button:disabled { opacity: .5; cursor: default; }
  .status { min-height: 1.4em; margin: .5rem 0 0; color: var(--muted); }
  .status.error { color: var(--error); font-weight: 600; }
  ol.labels { list-style: none; padding: 0; margin: 0; }
  ol.labels li { display: grid; grid-template-columns: 12rem 1fr 4.5rem; gap: .5rem; align-items: center; padding: .15rem 0; }
  .bar { height: .8rem; background: #e8ecf1; border-radius: 3px; overflow: hidden; }
  .bar span { display: block; height: 100%; }
  .score { text-align: right; font-variant-numeric: tabular-nums; }
  .chart svg { width: 100%; height: auto; max-height: 16rem; }
  .chart text { font-size: 11px; fill: var(--muted); }
  ul.legend { list-style: none; padding: 0; margin: .25rem 0 0; display: flex; flex-wrap: wrap; gap: .25rem 1rem; font-size: .85rem; }
  .swatch { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; margin-right: .3rem; vertical-align: -1px; }
  table { border-collapse: collapse; width: 100%; font-size: .85rem; }
  th, td { text-align: left; padding: .2rem .4rem; border-bottom: 1px solid var(--line); }
  td { overflow-wrap: anywhere; }
  td.actions { white-space: nowrap; overflow-wrap: normal; }
  .muted { color: var(--muted); font-size: .85rem; }
</style>
</head>
<body>
<header>
  <h1>Motive</h1>
  <p>Action recognition for videos and live streams</p>
</header>
<main>
  <section aria-labelledby="settings-heading">
    <h2 id="settings-heading">Settings</h2>
    <div class="fields">
      <label>Model <select id="model"></select></label>
      <label>Bearer token (optional, kept in this browser)
        <input id="token" type="password" autocomplete="off" spellcheck="false"></label>
      <button id="reload" type="button" class="plain">Reload models</button>
    </div>
  </section>

  <section aria-labelledby="predict-heading">
    <h2 id="predict-heading">Label a video</h2>
    <form id="predict-form" class="fields">
      <label>Video file <input id="video" type="file" accept="video/*" required></label>
      <button id="predict" type="submit">Label</button>
    </form>
    <p id="status" class="status" role="status" aria-live="polite"></p>
    <div id="result" hidden>
      <h3>Top labels</h3>
      <ol id="labels" class="labels"></ol>
      <h3>Scores over time <span class="muted">(2 s windows, every second)</span></h3>
      <div id="timeline" class="chart"></div>
      <p id="timing" class="muted"></p>
    </div>
  </section>

  <section aria-labelledby="stream-heading">
    <h2 id="stream-heading">Live stream</h2>
    <form id="stream-form" class="fields">
      <label>Source (URL, or a path under the data root)
        <input id="stream-source" type="text" required spellcheck="false" placeholder="rtsp://camera/stream"></label>
      <label>Window <input id="stream-window" class="short" type="text" value="2s"></label>
      <label>Stride <input id="stream-stride" class="short" type="text" value="0.5s"></label>
      <label class="check"><input id="stream-online" type="checkbox"> Online model</label>
      <button id="stream-start" type="submit">Start</button>
      <button id="stream-stop" type="button" class="plain" disabled>Stop</button>
    </form>
    <p id="stream-status" class="status" role="status" aria-live="polite"></p>
    <ol id="stream-labels" class="labels" aria-label="Live labels"></ol>
    <div id="stream-chart" class="chart"></div>
    <h3>Streams <button id="streams-refresh" type="button" class="plain">Refresh</button></h3>
    <p id="streams-note" class="status"></p>
    <table>
      <thead><tr><th>id</th><th>source</th><th>model</th><th>mode</th><th>state</th><th>frames (dropped)</th><th>decisions</th><th></th></tr></thead>
      <tbody id="streams"></tbody>
    </table>
  </section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const palette = ["#2456a6", "#c2410c", "#15803d", "#a21caf", "#b45309", "#0e7490", "#be123c", "#4d7c0f"];
const colour = (index) => palette[Math.abs(index) % palette.length];

function el(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

function svg(tag, attributes, text) {
  const element = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

function say(element, text, isError = false) {
  element.textContent = text;
  element.classList.toggle("error", isError);
}

// The token lives in localStorage and goes with every API call.
const token = $("token");
token.value = localStorage.getItem("motive-token") || "";
token.addEventListener("change", () => {
  const value = token.value.trim();
  if (value) localStorage.setItem("motive-token", value); else localStorage.removeItem("motive-token");
  loadModels();
  refreshStreams();
});

/** fetch() with the bearer token; a 4xx or 5xx throws an Error with the server's message and `status`. */
async function api(path, init = {}) {
  const headers = new Headers(init.headers);
  if (token.value.trim()) headers.set("Authorization", "Bearer " + token.value.trim());
  let response;
  try {
    response = await fetch(path, { ...init, headers });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new Error("cannot reach the server (" + error.message + ")");
  }
  if (response.ok) return response;
  const text = await response.text().catch(() => "");
  let message = text.trim().slice(0, 300) || response.statusText;
  try {
    const body = JSON.parse(text);
    const error = body.error !== undefined ? body.error : body;
    if (typeof error === "string") message = error;
    else if (error && error.message) message = (error.code ? error.code + ": " : "") + error.message;
  } catch { /* not JSON: keep the text */ }
  if (response.status === 401) message += " (enter the bearer token under Settings)";
  const failure = new Error(response.status + " " + message);
  failure.status = response.status;
  throw failure;
}

async function loadModels() {
  const select = $("model");
  const chosen = select.value;
  try {
    const { models } = await (await api("/v1/models")).json();
    select.replaceChildren(...models.map((model) => new Option(model.name, model.name)));
    if (models.some((model) => model.name === chosen)) select.value = chosen;
    say($("status"), models.length ? "" : "The daemon serves no model.", models.length === 0);
  } catch (error) {
    select.replaceChildren();
    say($("status"), "Models: " + error.message, true);
  }
}

/** One row per label: name, a bar as long as its score, the score in percent. */
function showLabels(list, labels) {
  list.replaceChildren(...labels.map(({ index, label, score }) => {
    const item = el("li");
    const bar = el("span", "bar");
    const fill = el("span");
    fill.style.width = (100 * score).toFixed(1) + "%";
    fill.style.background = colour(index);
    bar.append(fill);
    item.append(el("span", "name", label), bar, el("span", "score", (100 * score).toFixed(1) + "%"));
    return item;
  }));
}

/**
 * Scores over time as an SVG: one polyline (and a dot per point) for each label that appears,
 * x = the window's centre in seconds on an axis from t0 to t1, y = score from 0 to 1; a legend below.
 * points: [{t, labels: [{index, label, score}]}]
 */
function drawChart(container, points, [t0, t1], title) {
  if (points.length === 0) { container.replaceChildren(el("p", "muted", "No windows.")); return; }
  const width = 640, height = 200, left = 36, right = 12, top = 10, bottom = 26;
  const series = new Map();
  for (const point of points) {
    for (const { index, label, score } of point.labels) {
      if (!series.has(label)) series.set(label, { index, values: [] });
      series.get(label).values.push([point.t, score]);
    }
  }
  if (!(t1 - t0 > 1e-6)) { t0 = points[0].t - 1; t1 = points[0].t + 1; }
  const x = (t) => (left + (t - t0) / (t1 - t0) * (width - left - right)).toFixed(1);
  const y = (score) => (top + (1 - score) * (height - top - bottom)).toFixed(1);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title });
  chart.append(svg("title", {}, title));
  for (const score of [0, 0.5, 1]) {
    chart.append(svg("line", { x1: left, x2: width - right, y1: y(score), y2: y(score), stroke: "#d5dae1" }));
    chart.append(svg("text", { x: left - 6, y: y(score), "text-anchor": "end", "dominant-baseline": "middle" }, score.toFixed(1)));
  }
  for (let i = 0; i <= 4; i++) {
    const t = t0 + (t1 - t0) * i / 4;
    chart.append(svg("text", { x: x(t), y: height - 8, "text-anchor": "middle" }, t.toFixed(1) + " s"));
  }
  const legend = el("ul", "legend");
  for (const [label, { index, values }] of series) {
    const stroke = colour(index);
    chart.append(svg("polyline", { points: values.map(([t, score]) => x(t) + "," + y(score)).join(" "),
                                   fill: "none", stroke, "stroke-width": 2, "stroke-linejoin": "round" }));
    for (const [t, score] of values) chart.append(svg("circle", { cx: x(t), cy: y(score), r: 3, fill: stroke }));
    const item = el("li");
    const swatch = el("span", "swatch");
    swatch.style.background = stroke;
    item.append(swatch, label);
    legend.append(item);
  }
  container.replaceChildren(chart, legend);
}

$("video").addEventListener("change", () => {
  const file = $("video").files[0];
  say($("status"), file ? `${file.name}, ${(file.size / 1048576).toFixed(1)} MB: press Label.` : "");
});

$("predict-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("video").files[0];
  if (!file) { say($("status"), "Choose a video file first.", true); return; }
  const query = new URLSearchParams({ top_k: "5", window: "2s", stride: "1s" });
  if ($("model").value) query.set("model", $("model").value);
  const button = $("predict");
  button.disabled = true;
  say($("status"), `Labelling ${file.name}…`);
  try {
    const response = await api("/v1/predict?" + query, {
      method: "POST",
      headers: { "Content-Type": file.type.startsWith("video/") ? file.type : "application/octet-stream" },
      body: file,
    });
    const result = await response.json();
    showLabels($("labels"), result.labels);
    const windows = result.timeline || [];
    drawChart($("timeline"), windows.map((window) => ({ t: (window.start + window.end) / 2, labels: window.labels })),
              [Math.min(...windows.map((window) => window.start)), Math.max(...windows.map((window) => window.end))],
              "Scores of " + file.name + " over time");
    const timing = result.timing_ms || {};
    $("timing").textContent = Object.entries(timing).map(([stage, ms]) => `${stage} ${Math.round(ms)} ms`).join(" · ")
      + ` · views ${result.views} · request ${result.request_id}`;
    $("result").hidden = false;
    say($("status"), `${file.name}: labelled by ${result.model}.`);
  } catch (error) {
    say($("status"), error.message, true);
  } finally {
    button.disabled = false;
  }
});

/**
 * The events of a text/event-stream body as {event, data}. Read with fetch() rather than
 * EventSource, which cannot send the Authorization header.
 */
async function* serverSentEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "", event = "", data = [];
  try {
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) return;
      buffer += chunk.value;
      const lines = buffer.split("\n");
      buffer = lines.pop();
      for (const raw of lines) {
        const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
        if (line === "") {
          if (data.length) yield { event: event || "message", data: data.join("\n") };
          event = ""; data = [];
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

const streamStatus = $("stream-status");
let watching = null;

/** Follows one stream's decisions until it ends or another stream is watched. */
async function watch(id) {
  if (watching) watching.controller.abort();
  const controller = new AbortController();
  watching = { id, controller };
  const decisions = [];
  $("stream-stop").disabled = false;
  $("stream-labels").replaceChildren();
  $("stream-chart").replaceChildren();
  say(streamStatus, `Stream ${id}: waiting for the first decision…`);
  try {
    const response = await api(`/v1/streams/${encodeURIComponent(id)}/events`,
                               { signal: controller.signal, headers: { Accept: "text/event-stream" } });
    let ended = false;
    for await (const { event, data } of serverSentEvents(response.body)) {
      if (event === "decision") {
        const decision = JSON.parse(data);
        decisions.push(decision);
        const latest = decision.t_end;
        while (decisions.length > 1 && decisions[0].t_end < latest - 60) decisions.shift();
        showLabels($("stream-labels"), decision.labels);
        drawChart($("stream-chart"), decisions.map((d) => ({ t: (d.t_start + d.t_end) / 2, labels: d.labels })),
                  [decisions[0].t_start, latest], `Scores of stream ${id} over the last minute`);
        say(streamStatus, `Stream ${id}: ${decision.t_start.toFixed(1)}–${decision.t_end.toFixed(1)} s, `
            + `latency ${Math.round(decision.latency_ms)} ms, ${decision.dropped} frames dropped`);
      } else if (event === "end") {
        const end = JSON.parse(data);
        ended = true;
        say(streamStatus, `Stream ${id} ${end.reason}` + (end.error ? ": " + end.error : "."), end.reason === "failed");
        break;
      }
    }
    if (!ended) say(streamStatus, `Stream ${id}: the event stream closed before the stream ended.`, true);
  } catch (error) {
    if (error.name !== "AbortError") say(streamStatus, `Stream ${id}: ${error.message}`, true);
  } finally {
    if (watching && watching.controller === controller) {
      watching = null;
      $("stream-stop").disabled = true;
    }
    refreshStreams();
  }
}

async function stopStream(id) {
  try {
    await api(`/v1/streams/${encodeURIComponent(id)}`, { method: "DELETE" });
    if (!watching || watching.id !== id) say(streamStatus, `Stream ${id} stopped.`);
  } catch (error) {
    say(streamStatus, `Cannot stop stream ${id}: ${error.message}`, true);
  }
  refreshStreams();
}

function button(text, label, onClick) {
  const element = el("button", "plain", text);
  element.type = "button";
  element.setAttribute("aria-label", label);
  element.addEventListener("click", onClick);
  return element;
}

async function refreshStreams() {
  try {
    const { streams } = await (await api("/v1/streams")).json();
    $("streams").replaceChildren(...streams.map((stream) => {
      const row = el("tr");
      for (const value of [stream.id, stream.source, stream.model, stream.mode, stream.state,
                           `${stream.frames_decoded} (${stream.frames_dropped})`, stream.decisions]) {
        row.append(el("td", "", String(value === undefined ? "" : value)));
      }
      const actions = el("td", "actions");
      if (stream.state === "running") {
        actions.append(button("Watch", `Watch stream ${stream.id}`, () => watch(stream.id)), " ",
                       button("Stop", `Stop stream ${stream.id}`, () => stopStream(stream.id)));
      }
      row.append(actions);
      return row;
    }));
    $("streams").closest("table").hidden = streams.length === 0;
    say($("streams-note"), streams.length ? "" : "No streams.");
  } catch (error) {
    $("streams").replaceChildren();
    $("streams").closest("table").hidden = true;
    if (error.status === 404) say($("streams-note"), "This daemon does not serve streams.");
    else say($("streams-note"), "Streams: " + error.message, true);
  }
}

$("stream-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const request = { source: $("stream-source").value.trim(), online: $("stream-online").checked, top_k: 3 };
  // An online model labels frame by frame: window and stride belong to window mode only.
  if (!request.online) {
    request.window = $("stream-window").value.trim() || "2s";
    request.stride = $("stream-stride").value.trim() || "0.5s";
  }
  if ($("model").value) request.model = $("model").value;
  say(streamStatus, "Starting…");
  try {
    const response = await api("/v1/streams", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request),
    });
    const stream = await response.json();
    refreshStreams();
    watch(stream.id);
  } catch (error) {
    say(streamStatus, "Cannot start the stream: " + error.message, true);
  }
});

$("stream-online").addEventListener("change", () => {
  for (const id of ["stream-window", "stream-stride"]) $(id).disabled = $("stream-online").checked;
});
$("stream-stop").addEventListener("click", () => { if (watching) stopStream(watching.id); });
$("streams-refresh").addEventListener("click", refreshStreams);
$("reload").addEventListener("click", loadModels);
loadModels();
refreshStreams();
</script>
</body>
</html>
"""#
}
