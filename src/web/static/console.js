// The console's only script: uploads (the file is the request's body) and a run's live
// events (server-sent). Nothing polls.
"use strict";

function csrf() {
  return document.querySelector('meta[name="csrf"]').content;
}

function setupUpload() {
  const form = document.getElementById("upload");
  if (!form) return;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const said = document.getElementById("upload-said");
    const file = document.getElementById("upload-file").files[0];
    if (!file) return;
    said.textContent = "uploading " + file.name + "…";
    const answer = await fetch("/files/upload?name=" + encodeURIComponent(file.name), {
      method: "POST",
      headers: { "X-CSRF-Token": csrf(), "Content-Type": "application/octet-stream" },
      body: file,
    });
    const text = await answer.text();
    said.textContent = text;
    said.className = answer.ok ? "good" : "bad";
    if (answer.ok) setTimeout(() => location.reload(), 400);
  });
}

function setupConfirms() {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (ev) => {
      if (!confirm(form.dataset.confirm)) ev.preventDefault();
    });
  }
}

function link(href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  return a;
}

function setupLive() {
  const live = document.getElementById("live");
  if (!live) return;
  const lines = document.getElementById("lines");
  const now = document.getElementById("file-now");
  const fill = document.getElementById("fill");
  const progress = document.getElementById("progress");
  const verdict = document.getElementById("verdict");
  const source = new EventSource(live.dataset.events);
  const say = (text, cls) => {
    const li = document.createElement("li");
    li.textContent = text;
    if (cls) li.className = cls;
    lines.appendChild(li);
    return li;
  };
  source.onmessage = (m) => {
    const e = JSON.parse(m.data);
    switch (e.kind) {
      case "note": say(e.line); break;
      case "warn": say(e.line, "warn"); break;
      case "start":
        now.textContent = e.tool + ": " + e.name;
        fill.style.width = "0";
        progress.textContent = "0 of about " + e.rows + " rows";
        break;
      case "progress": {
        const pct = e.rows > 0 ? Math.min(100, (100 * e.done) / e.rows) : 100;
        fill.style.width = pct.toFixed(1) + "%";
        progress.textContent = e.done + " of about " + e.rows + " rows · " + e.text;
        progress.dataset.done = e.done;
        break;
      }
      case "file": {
        const li = say(e.line, "file-" + e.state);
        if (e.report) {
          li.appendChild(document.createTextNode(" "));
          li.appendChild(link("/report?path=" + encodeURIComponent(e.report), "open the report"));
        }
        break;
      }
      case "end":
        verdict.textContent = e.verdict;
        verdict.className = "verdict code-" + e.code;
        verdict.dataset.code = e.code;
        now.textContent = "ended";
        source.close();
        break;
    }
  };
}

document.addEventListener("DOMContentLoaded", () => {
  setupUpload();
  setupConfirms();
  setupLive();
});
