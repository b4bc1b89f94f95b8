/**
 * The playground: one page, served from memory at `/playground`, that runs
 * what a server serves and shows the run live, over the server's own SSE
 * endpoints. Plain DOM, one inline style and one inline script, no framework
 * and nothing from elsewhere (it works offline).
 *
 * Everything the server sends is rendered as text (`textContent`, `append`
 * of strings), never parsed as HTML; the page's Content-Security-Policy
 * allows its own script and style only (by hash), connections to its own
 * origin only, and Trusted Types, under which an `innerHTML` of a string
 * throws.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import { createHash } from "node:crypto"

/** Where the page is served. */
export const path = "/playground"

const style = String.raw`
:root { --fg: #1d2330; --muted: #6b7385; --line: #dde1e8; --bg: #f6f7f9; --card: #fff; --accent: #3b5bdb;
  --ok: #2b8a3e; --bad: #c92a2a; --warn: #e67700; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 12px; padding: 10px 18px; background: var(--card); border-bottom: 1px solid var(--line); }
h1 { font-size: 16px; margin: 0; } h1 span { color: var(--muted); font-weight: 400; }
h2 { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 0 0 8px; }
main { display: grid; grid-template-columns: 300px 1fr; gap: 16px; padding: 16px 18px; align-items: start; }
aside, .card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px; }
#view { display: grid; gap: 16px; min-width: 0; }
label { display: block; margin-bottom: 10px; color: var(--muted); font-size: 12px; }
select, textarea, input { display: block; width: 100%; margin-top: 4px; font: inherit; color: var(--fg); padding: 6px 8px;
  border: 1px solid var(--line); border-radius: 6px; background: #fff; }
textarea { resize: vertical; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; }
.buttons { display: flex; gap: 8px; }
#replay-form { margin-top: 14px; padding-top: 12px; border-top: 1px solid var(--line); }
button { font: inherit; padding: 6px 16px; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button#stop { background: #fff; color: var(--bad); border-color: var(--bad); }
button:disabled { opacity: .4; cursor: default; }
.status { margin-left: auto; padding: 2px 10px; border-radius: 99px; font-size: 12px; background: var(--line); }
.status.running { background: #dbe4ff; color: var(--accent); } .status.completed { background: #d3f9d8; color: var(--ok); }
.status.failed, .status.partial { background: #ffe3e3; color: var(--bad); } .status.stopped { background: #fff3bf; color: var(--warn); }
.error { color: var(--bad); white-space: pre-wrap; word-break: break-word; }
dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 12px; margin: 12px 0 0; }
dt { color: var(--muted); } dd { margin: 0; font-variant-numeric: tabular-nums; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; }
ul.tree, ul.children { list-style: none; margin: 0; padding: 0; }
ul.children { margin-left: 10px; padding-left: 12px; border-left: 2px solid var(--line); }
li.member { margin: 6px 0; }
.head { display: flex; gap: 8px; align-items: baseline; }
.head .name { font-weight: 600; }
.head .state { color: var(--muted); font-size: 12px; }
li.member.running > .head .name::before { content: "● "; color: var(--accent); }
li.member.done > .head .name::before { content: "✓ "; color: var(--ok); }
li.member.error > .head .name::before { content: "✗ "; color: var(--bad); }
.text:empty, .tools:empty { display: none; }
.text { margin: 4px 0; padding: 6px 8px; background: var(--bg); border-radius: 6px; }
ol.tools { list-style: none; margin: 4px 0; padding: 0; }
li.call { margin: 3px 0; padding: 4px 8px; border-left: 3px solid var(--accent); background: #f1f3ff; border-radius: 0 6px 6px 0; }
li.call.ok { border-color: var(--ok); background: #ebfbee; } li.call.failed { border-color: var(--bad); background: #fff5f5; }
li.call .tool { font-weight: 600; } li.call .args, li.call .result { color: #3d4556; }
li.call .duration { color: var(--muted); font-size: 12px; margin-left: 6px; }
#graph { position: relative; display: flex; gap: 56px; align-items: center; padding: 8px 4px; overflow-x: auto; }
#graph svg { position: absolute; left: 0; top: 0; pointer-events: none; overflow: visible; }
#graph path { fill: none; stroke: #aab1c0; stroke-width: 1.5; }
.column { display: flex; flex-direction: column; gap: 14px; z-index: 1; }
.dag-node { min-width: 120px; padding: 8px 12px; border-radius: 8px; border: 2px solid var(--line); background: #fff; }
.dag-node .label { font-weight: 600; } .dag-node .state { color: var(--muted); font-size: 12px; }
.dag-node.running { border-color: var(--accent); background: #edf2ff; box-shadow: 0 0 0 4px #dbe4ff; }
.dag-node.completed { border-color: var(--ok); background: #ebfbee; }
.dag-node.failed { border-color: var(--bad); background: #fff5f5; }
.dag-node.interrupted { border-color: var(--warn); background: #fff9db; }
.dag-node.skipped { border-style: dashed; opacity: .55; }
.row { display: grid; grid-template-columns: 120px 1fr 150px; gap: 10px; align-items: center; margin: 3px 0; }
.row .track { position: relative; height: 14px; background: var(--bg); border-radius: 4px; }
.row .bar { position: absolute; top: 0; bottom: 0; border-radius: 4px; background: var(--ok); min-width: 3px; }
.row .bar.failed { background: var(--bad); } .row .bar.interrupted { background: var(--warn); }
.row .outcome { color: var(--muted); font-size: 12px; }
[hidden] { display: none !important; }
`

const script = String.raw`
"use strict";
(function () {
  var $ = function (id) { return document.getElementById(id); };
  // an element with text children: strings are appended as Text nodes, never parsed as HTML
  var h = function (tag, className) {
    var element = document.createElement(tag);
    if (className) element.className = className;
    for (var i = 2; i < arguments.length; i++) element.append(arguments[i]);
    return element;
  };
  var ms = function (n) { return n < 1000 ? Math.round(n) + " ms" : (n / 1000).toFixed(2) + " s"; };
  var json = function (value) { return typeof value === "string" ? value : JSON.stringify(value); };
  var auth = document.body.dataset.auth === "bearer";
  var token = ""; // kept in this page's memory only
  var controller; // the run in flight
  var run; // what the view shows: { kind, name, members, calls, tokens, toolCalls, nodes }

  var headers = function (body) {
    var result = {};
    if (body) result["content-type"] = "application/json";
    if (token) result.authorization = "Bearer " + token;
    return result;
  };
  var setStatus = function (status, text) { var s = $("status"); s.className = "status " + status; s.textContent = text || status; };
  var showError = function (message) { var e = $("error"); e.textContent = message; e.hidden = !message; };
  var describe = function (status, text) {
    var body;
    try { body = JSON.parse(text); } catch (_) { return status + ": " + text.slice(0, 500); }
    if (status === 401) return "401: the server needs a valid bearer token";
    if (body && typeof body === "object") {
      var message = typeof body.message === "string" ? body.message : JSON.stringify(body);
      return status + " " + (typeof body._tag === "string" ? body._tag + ": " : "") + message;
    }
    return status + ": " + text.slice(0, 500);
  };
  var selected = function () {
    var option = $("target").selectedOptions[0];
    return option ? { kind: option.dataset.kind, name: option.value } : undefined;
  };

  // --- metrics -------------------------------------------------------------
  var metrics = function (rows) {
    var list = $("metrics");
    list.replaceChildren();
    rows.forEach(function (row) { list.append(h("dt", "", row[0]), h("dd", "", String(row[1]))); });
  };
  var liveMetrics = function () {
    metrics([["tokens", run.tokens.input + " in · " + run.tokens.output + " out"], ["tool calls", run.toolCalls]]);
  };

  // --- the tree of runs, by path ---------------------------------------------
  var member = function (path) {
    var key = JSON.stringify(path);
    var found = run.members.get(key);
    if (found) return found;
    var parent = path.length > 1 ? member(path.slice(0, -1)).children : $("tree");
    var state = h("span", "state");
    var text = h("pre", "text");
    var tools = h("ol", "tools");
    var children = h("ul", "children");
    var element = h("li", "member", h("div", "head", h("span", "name", path[path.length - 1]), state), text, tools, children);
    element.dataset.path = path.join("/");
    parent.append(element);
    found = { element: element, state: state, text: text, tools: tools, children: children };
    run.members.set(key, found);
    return found;
  };
  // the runs below one that ended ended too (a DAG's agents forward no end of their own)
  var settle = function (prefix, status, state) {
    run.members.forEach(function (m, key) {
      if (key.indexOf(prefix) === 0 && m.element.className === "member running") {
        m.element.className = "member " + status;
        m.state.textContent = state;
      }
    });
  };
  var mark = function (path, status, state) {
    var m = member(path);
    m.element.className = "member " + status;
    m.state.textContent = state || "";
    if (status !== "running") settle(JSON.stringify(path).slice(0, -1) + ",", status, "");
    return m;
  };
  // the run ended early (stopped, failed): what was running did not finish
  var cut = function (label) {
    settle("[", "error", label);
    if (run.nodes) run.nodes.forEach(function (node) {
      if (node.box.className === "dag-node running") { node.box.className = "dag-node interrupted"; node.state.textContent = "⊘ " + label; }
    });
  };
  var callKey = function (event, id) { return JSON.stringify(event.path) + "#" + id; };
  var toolStarted = function (event) {
    var call = event.toolCall;
    var result = h("span", "result", "…");
    var duration = h("span", "duration");
    var item = h("li", "call", h("span", "tool", call.name), h("span", "args", "(" + call.arguments + ")"), " → ", result, duration);
    item.dataset.tool = call.name;
    member(event.path).tools.append(item);
    run.calls.set(callKey(event, call.id), { item: item, result: result, duration: duration });
  };
  var toolCompleted = function (event) {
    var call = event.call;
    var found = run.calls.get(callKey(event, call.id));
    if (!found) { toolStarted({ path: event.path, toolCall: call }); found = run.calls.get(callKey(event, call.id)); }
    found.item.className = "call " + (call.isError ? "failed" : "ok");
    found.result.textContent = call.result;
    found.duration.textContent = ms(call.durationMs);
    run.toolCalls += 1;
    liveMetrics();
  };

  // --- DAGs: the graph, lit by node events; the timeline at the end -----------
  var drawGraph = function (info) {
    var graph = $("graph");
    graph.replaceChildren();
    run.nodes = new Map();
    var depth = new Map();
    var columns = [];
    info.nodes.forEach(function (node) {
      var d = 0;
      node.dependsOn.forEach(function (dep) { d = Math.max(d, (depth.get(dep) || 0) + 1); });
      depth.set(node.name, d);
      if (!columns[d]) { columns[d] = h("div", "column"); }
      var state = h("div", "state", "pending");
      var box = h("div", "dag-node pending", h("div", "label", node.name), state);
      box.dataset.node = node.name;
      columns[d].append(box);
      run.nodes.set(node.name, { box: box, state: state, dependsOn: node.dependsOn });
    });
    var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    graph.append(svg);
    columns.forEach(function (column) { graph.append(column); });
    edges();
  };
  var edges = function () {
    if (!run || !run.nodes) return;
    var graph = $("graph");
    var svg = graph.querySelector("svg");
    var origin = graph.getBoundingClientRect();
    svg.replaceChildren();
    svg.setAttribute("width", String(graph.scrollWidth));
    svg.setAttribute("height", String(graph.scrollHeight));
    run.nodes.forEach(function (node) {
      var to = node.box.getBoundingClientRect();
      node.dependsOn.forEach(function (dep) {
        var from = run.nodes.get(dep).box.getBoundingClientRect();
        var x1 = from.right - origin.left + graph.scrollLeft, y1 = from.top + from.height / 2 - origin.top;
        var x2 = to.left - origin.left + graph.scrollLeft, y2 = to.top + to.height / 2 - origin.top;
        var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
        var mid = (x1 + x2) / 2;
        path.setAttribute("d", "M" + x1 + "," + y1 + " C" + mid + "," + y1 + " " + mid + "," + y2 + " " + x2 + "," + y2);
        svg.append(path);
      });
    });
  };
  var nodeState = function (event, status, state) {
    var node = run.nodes && run.nodes.get(event.node);
    if (node) { node.box.className = "dag-node " + status; node.state.textContent = state; }
  };
  var timeline = function (result) {
    var box = $("timeline");
    box.replaceChildren();
    var total = Math.max(result.durationMs, 1);
    result.order.forEach(function (name) {
      var node = result.nodes[name];
      var track = h("div", "track");
      var outcome;
      if (node.status === "skipped") {
        outcome = "– skipped" + (node.blockedBy ? " (" + node.blockedBy + " did not complete)" : "");
      } else {
        var bar = h("div", "bar " + node.status);
        bar.style.left = (node.startMs / total * 100) + "%";
        bar.style.width = (node.durationMs / total * 100) + "%";
        track.append(bar);
        outcome = (node.status === "completed" ? "✓ " : node.status === "failed" ? "✗ " : "⊘ ") + ms(node.durationMs) +
          (node.attempts > 1 ? ", " + node.attempts + " attempts" : "");
      }
      box.append(h("div", "row", h("span", "name", name), track, h("span", "outcome", outcome)));
    });
    $("timeline-box").hidden = false;
  };

  // --- events ----------------------------------------------------------------
  var handle = function (name, event) {
    switch (name) {
      case "RunStarted": mark(event.path, "running", "running"); break;
      case "TextDelta": member(event.path).text.append(event.text); break;
      case "ToolCallStarted": toolStarted(event); break;
      case "ToolCallCompleted": toolCompleted(event); break;
      case "StepCompleted":
        run.tokens.input += event.step.usage.inputTokens;
        run.tokens.output += event.step.usage.outputTokens;
        liveMetrics();
        break;
      case "MemberCompleted":
        mark(event.path, event.isError ? "error" : "done", ms(event.durationMs));
        if (event.isError) member(event.path).text.textContent = event.content;
        break;
      case "ApprovalRequested": mark(event.path, "running", "waiting for approval of " + event.approval.tool); break;
      case "RunCompleted":
        mark(event.path, "done", ms(event.result.metrics.durationMs));
        $("answer").textContent = event.result.content;
        $("answer-box").hidden = false;
        var m = event.result.metrics;
        metrics([
          ["tokens in", m.inputTokens], ["tokens out", m.outputTokens], ["tokens", m.totalTokens], ["steps", m.steps],
          ["tool calls", m.toolCalls], ["retries", m.retries],
          ["first token", m.timeToFirstTokenMs === undefined ? "–" : ms(m.timeToFirstTokenMs)],
          ["cost", m.costUsd === undefined ? "–" : "$" + m.costUsd.toFixed(6)], ["duration", ms(m.durationMs)]
        ]);
        setStatus("completed");
        break;
      case "NodeStarted": nodeState(event, "running", "running"); mark(event.path, "running", "running"); break;
      case "NodeCompleted": nodeState(event, "completed", "✓ " + ms(event.durationMs)); mark(event.path, "done", ms(event.durationMs)); break;
      case "NodeFailed":
        nodeState(event, "failed", "✗ " + ms(event.durationMs));
        mark(event.path, "error", json(event.error && event.error.message !== undefined ? event.error.message : event.error));
        break;
      case "NodeInterrupted": nodeState(event, "interrupted", "⊘ interrupted"); mark(event.path, "error", "interrupted"); break;
      case "NodeSkipped": nodeState(event, "skipped", "skipped"); break;
      case "DagCompleted":
        mark(event.path, event.result.status === "completed" ? "done" : "error", event.result.status);
        timeline(event.result);
        metrics([
          ["status", event.result.status], ["nodes", event.result.order.length],
          ["tokens", run.tokens.input + " in · " + run.tokens.output + " out"], ["tool calls", run.toolCalls],
          ["duration", ms(event.result.durationMs)]
        ]);
        setStatus(event.result.status);
        break;
      case "error":
        setStatus("failed");
        cut("failed");
        showError((typeof event._tag === "string" ? event._tag + ": " : "") + (event.message || json(event)));
        break;
    }
  };
  var readEvents = async function (body) {
    var reader = body.pipeThrough(new TextDecoderStream()).getReader();
    var buffer = "";
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) return;
      buffer += chunk.value.replace(/\r\n?/g, "\n");
      var end;
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        var frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        var name = "message", data = [];
        frame.split("\n").forEach(function (line) {
          if (line.indexOf("event:") === 0) name = line.slice(6).trim();
          else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
        });
        if (data.length > 0) handle(name, JSON.parse(data.join("\n")));
      }
    }
  };

  // --- the form --------------------------------------------------------------
  var reset = function (target) {
    run = { kind: target.kind, name: target.name, members: new Map(), calls: new Map(), tokens: { input: 0, output: 0 }, toolCalls: 0, nodes: undefined };
    $("tree").replaceChildren();
    $("timeline").replaceChildren();
    $("timeline-box").hidden = true;
    $("answer-box").hidden = true;
    $("metrics").replaceChildren();
    showError("");
  };
  // a DAG's structure, to draw it: undefined (and the error shown) when it cannot be read
  var structure = async function (name) {
    var response = await fetch("/v1/dags/" + encodeURIComponent(name), { headers: headers(false) });
    var text = await response.text();
    if (response.ok) return JSON.parse(text);
    showError(describe(response.status, text));
  };
  var showTarget = async function () {
    var target = selected();
    if (!target || controller) return;
    reset(target);
    setStatus("idle");
    var dag = target.kind === "dags";
    $("input-label").textContent = dag ? "Input (JSON)" : "Message";
    $("input").placeholder = dag ? "the DAG's input as JSON, e.g. \"Q3\" or {\"quarter\": \"Q3\"}" : "Ask something";
    $("graph").replaceChildren();
    $("graph-box").hidden = !dag;
    if (!dag) return;
    var info = await structure(target.name);
    if (info && !controller && run.name === target.name) drawGraph(info);
  };
  // follows the events of the run that request(signal) answers with, until they end or Stop is pressed
  var watch = async function (request) {
    controller = new AbortController();
    ["run", "replay", "target"].forEach(function (id) { $(id).disabled = true; });
    $("stop").disabled = false;
    try {
      var response = await request(controller.signal);
      if (!response) return;
      if (!response.ok) { setStatus("failed"); showError(describe(response.status, await response.text())); return; }
      await readEvents(response.body);
      if ($("status").textContent === "running") { setStatus("failed", "ended early"); cut("ended early"); }
    } catch (error) {
      if (error && error.name === "AbortError") { setStatus("stopped"); cut("stopped"); }
      else { setStatus("failed"); cut("failed"); showError(String(error && error.message || error)); }
    } finally {
      controller = undefined;
      ["run", "replay", "target"].forEach(function (id) { $(id).disabled = false; });
      $("stop").disabled = true;
    }
  };
  var start = async function (submit) {
    submit.preventDefault();
    var target = selected();
    if (!target || controller) return;
    var input = $("input").value;
    if (target.kind === "dags") {
      try { input = JSON.parse(input); } catch (error) { return showError("the input is not JSON: " + error.message); }
    }
    var base = target.kind === "dags" ? "/v1/dags/" : "/v1/agents/";
    await watch(async function (signal) {
      var info = target.kind !== "dags" ? undefined : run && run.nodes && run.name === target.name
        ? { nodes: Array.from(run.nodes, function (entry) { return { name: entry[0], dependsOn: entry[1].dependsOn }; }) }
        : await structure(target.name);
      reset(target);
      if (info) drawGraph(info);
      setStatus("running");
      return fetch(base + encodeURIComponent(target.name) + "/runs/stream", {
        method: "POST", headers: headers(true), body: JSON.stringify({ input: input }), signal: signal
      });
    });
  };
  // a logged run (one started detached), from its first event: done, or live to its end
  var replay = async function (submit) {
    submit.preventDefault();
    var runId = $("replay-id").value.trim();
    if (runId === "" || controller) return;
    await watch(function (signal) {
      reset({ kind: "runs", name: runId });
      $("graph-box").hidden = true;
      setStatus("running");
      return fetch("/v1/runs/" + encodeURIComponent(runId) + "/events", { headers: headers(false), signal: signal });
    });
  };
  var load = async function () {
    var response = await fetch("/health");
    if (!response.ok) return showError(describe(response.status, await response.text()));
    var health = await response.json();
    var select = $("target");
    select.replaceChildren();
    [["agents", "Agents"], ["teams", "Teams"], ["dags", "DAGs"]].forEach(function (kind) {
      var names = Array.isArray(health[kind[0]]) ? health[kind[0]] : [];
      if (names.length === 0) return;
      var group = document.createElement("optgroup");
      group.label = kind[1];
      names.forEach(function (name) {
        var option = h("option", "", String(name));
        option.value = String(name);
        option.dataset.kind = kind[0];
        group.append(option);
      });
      select.append(group);
    });
    document.body.dataset.ready = "true";
    await showTarget();
  };

  $("token-row").hidden = !auth;
  $("token").addEventListener("input", function (event) { token = event.target.value; });
  $("token").addEventListener("change", function () { showTarget(); });
  $("target").addEventListener("change", function () { showTarget(); });
  $("form").addEventListener("submit", start);
  $("replay-form").addEventListener("submit", replay);
  $("input").addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("form").requestSubmit();
  });
  $("stop").addEventListener("click", function () { if (controller) controller.abort(); });
  window.addEventListener("resize", edges);
  load().catch(function (error) { showError(String(error && error.message || error)); });
})();
`

const hash = (source: string) => `'sha256-${createHash("sha256").update(source, "utf8").digest("base64")}'`

/** The page: its inline style and script, and whether it asks for a bearer token. */
export const html = (auth: boolean): string =>
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>effect-agents playground</title>
<style>${style}</style>
</head>
<body data-auth="${auth ? "bearer" : "none"}">
<header><h1>effect-agents <span>playground</span></h1><span id="status" class="status idle">idle</span></header>
<main>
<aside>
<form id="form" autocomplete="off">
<label id="token-row" hidden>Bearer token (kept in this page only)<input id="token" type="password" spellcheck="false"></label>
<label>Agent, team or DAG<select id="target"></select></label>
<label><span id="input-label">Message</span><textarea id="input" rows="5" spellcheck="false"></textarea></label>
<div class="buttons"><button id="run" type="submit">Run</button><button id="stop" type="button" disabled>Stop</button></div>
</form>
<form id="replay-form" autocomplete="off">
<label>A logged run (started with "detach": true), replayed<input id="replay-id" placeholder="its run id" spellcheck="false"></label>
<div class="buttons"><button id="replay" type="submit">Replay</button></div>
</form>
<p id="error" class="error" hidden></p>
<dl id="metrics"></dl>
</aside>
<section id="view">
<div id="graph-box" class="card" hidden><h2>Graph</h2><div id="graph"></div></div>
<div class="card"><h2>Run</h2><ul id="tree" class="tree"></ul></div>
<div id="timeline-box" class="card" hidden><h2>Timeline</h2><div id="timeline"></div></div>
<div id="answer-box" class="card" hidden><h2>Answer</h2><pre id="answer"></pre></div>
</section>
</main>
<script>${script}</script>
</body>
</html>
`

/**
 * The page's policy: its own script and style only, connections to its own
 * origin only, no frames, no forms elsewhere, and Trusted Types (no HTML
 * from strings).
 */
export const contentSecurityPolicy = [
  "default-src 'none'",
  `script-src ${hash(script)}`,
  `style-src ${hash(style)}`,
  "connect-src 'self'",
  "img-src data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'"
].join("; ")

/** The route of the page, on the API's router (so the server's guard applies: Host check, draining). */
export const layer = (options: { readonly auth: boolean }): Layer.Layer<never> => {
  const response = HttpServerResponse.text(html(options.auth), {
    contentType: "text/html; charset=utf-8",
    headers: {
      "content-security-policy": contentSecurityPolicy,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-cache"
    }
  })
  return HttpApiBuilder.Router.use((router) => router.get(path, Effect.succeed(response)))
}
