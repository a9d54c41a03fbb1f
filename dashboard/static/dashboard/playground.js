// The playground: one POST per model to the stream endpoint, read as server-sent events.
// Model output only ever goes into the page through textContent: no HTML from a model is parsed.
// The summary panel arrives rendered (and escaped) by the server's template.
(function () {
  "use strict";

  const form = document.getElementById("playground");
  if (!form) return;
  const results = document.getElementById("pg-results");
  const messages = document.getElementById("pg-messages");
  const compare = document.getElementById("pg-compare");
  const compareModels = document.getElementById("pg-compare-models");
  const send = document.getElementById("pg-send");

  function csrfToken() {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  }

  function addMessage(role, content) {
    const row = document.getElementById("pg-message-template").content.firstElementChild.cloneNode(true);
    row.querySelector(".pg-role").value = role;
    row.querySelector(".pg-content").value = content || "";
    messages.appendChild(row);
    return row;
  }

  messages.addEventListener("click", function (event) {
    if (!event.target.classList.contains("pg-remove")) return;
    if (messages.querySelectorAll(".pg-message").length > 1) event.target.closest(".pg-message").remove();
  });
  document.getElementById("pg-add").addEventListener("click", function () {
    const rows = messages.querySelectorAll(".pg-role");
    const last = rows.length ? rows[rows.length - 1].value : "assistant";
    addMessage(last === "user" ? "assistant" : "user").querySelector(".pg-content").focus();
  });
  compare.addEventListener("change", function () {
    compareModels.hidden = !compare.checked;
  });

  // Text with ``` fences: prose as text, code in <pre><code>, both via textContent.
  function renderAnswer(element, text) {
    element.replaceChildren();
    const parts = text.split("```");
    parts.forEach(function (part, i) {
      if (i % 2 === 0) {
        if (part) {
          const prose = document.createElement("div");
          prose.className = "pg-prose";
          prose.textContent = part;
          element.appendChild(prose);
        }
        return;
      }
      const newline = part.indexOf("\n");
      const language = newline > 0 ? part.slice(0, newline).trim() : "";
      const pre = document.createElement("pre");
      const code = document.createElement("code");
      if (/^[\w+-]{1,20}$/.test(language)) code.dataset.language = language;
      code.textContent = newline >= 0 && /^[\w+-]*$/.test(part.slice(0, newline).trim()) ? part.slice(newline + 1) : part;
      pre.appendChild(code);
      element.appendChild(pre);
    });
  }

  function formBody(model) {
    const turns = Array.from(messages.querySelectorAll(".pg-message")).map(function (row) {
      return { role: row.querySelector(".pg-role").value, content: row.querySelector(".pg-content").value };
    });
    const body = { model: model, system: document.getElementById("pg-system").value, messages: turns };
    const temperature = document.getElementById("pg-temperature").value;
    const maxTokens = document.getElementById("pg-max-tokens").value;
    if (temperature !== "") body.temperature = Number(temperature);
    if (maxTokens !== "") body.max_tokens = Number(maxTokens);
    // The optimizer toggles as switches: "name" on, "-name" off; "model default" sends nothing.
    const optimize = [];
    form.querySelectorAll(".pg-optimize select").forEach(function (select) {
      if (select.value === "on") optimize.push(select.dataset.strategy);
      else if (select.value === "off") optimize.push("-" + select.dataset.strategy);
    });
    if (optimize.length) body.optimize = optimize;
    return body;
  }

  function chosenModels() {
    const models = [document.getElementById("pg-model-1").value];
    if (compare.checked) {
      compareModels.querySelectorAll("select").forEach(function (select) {
        if (select.value) models.push(select.value);
      });
    }
    return models.filter(Boolean);
  }

  async function run(column, body) {
    const answer = column.querySelector(".pg-answer");
    const summary = column.querySelector(".pg-summary");
    let text = "";
    column.dataset.state = "streaming";
    let response;
    try {
      response = await fetch(form.dataset.streamUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(body),
        credentials: "same-origin",
      });
    } catch (error) {
      summary.textContent = "Could not reach the server: " + error;
      column.dataset.state = "error";
      return;
    }
    if (!response.ok) {
      let message = "HTTP " + response.status;
      try { message = (await response.json()).error.message; } catch (e) { /* not JSON */ }
      const p = document.createElement("p");
      p.className = "pg-error";
      p.textContent = message;
      summary.replaceChildren(p);
      column.dataset.state = "error";
      return;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const raw = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = "message", data = "";
        raw.split("\n").forEach(function (line) {
          if (line.startsWith("event: ")) name = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        });
        const payload = JSON.parse(data);
        if (name === "text") {
          text += payload.text;
          renderAnswer(answer, text);
        } else if (name === "summary") {
          summary.innerHTML = payload.html; // server-rendered template, escaped there
          if (window.htmx) window.htmx.process(summary);
          column.dataset.requestId = payload.request_id;
          column.dataset.state = payload.status;
          column.dataset.answer = text;
        }
      }
    }
    if (column.dataset.state === "streaming") column.dataset.state = "error";
    const more = column.querySelector(".pg-continue");
    more.hidden = !(column.dataset.state === "ok" && !compare.checked);
  }

  // Thumbs up/down: feedback on the answer through the JSON API, with the staff session.
  async function rate(button) {
    const box = button.closest(".pg-feedback");
    const note = box.querySelector(".pg-feedback-note");
    note.textContent = "Saving…";
    let response;
    try {
      response = await fetch(box.dataset.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ score: Number(button.dataset.score) }),
        credentials: "same-origin",
      });
    } catch (error) {
      note.textContent = "Could not reach the server: " + error;
      return;
    }
    if (!response.ok) {
      let message = "HTTP " + response.status;
      try { message = (await response.json()).error.message; } catch (e) { /* not JSON */ }
      note.textContent = "Not recorded: " + message;
      return;
    }
    box.querySelectorAll(".pg-thumb").forEach(function (thumb) {
      thumb.setAttribute("aria-pressed", String(thumb === button));
    });
    box.dataset.recorded = button.dataset.score;
    note.textContent = "Thanks, recorded.";
  }

  results.addEventListener("click", function (event) {
    const thumb = event.target.closest(".pg-thumb");
    if (thumb) {
      rate(thumb);
      return;
    }
    if (!event.target.classList.contains("pg-continue")) return;
    const column = event.target.closest(".pg-column");
    addMessage("assistant", column.dataset.answer || "");
    addMessage("user", "").querySelector(".pg-content").focus();
    event.target.hidden = true;
  });

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const models = chosenModels();
    if (!models.length) return;
    send.disabled = true;
    results.replaceChildren();
    results.dataset.columns = String(models.length);
    const runs = models.map(function (model) {
      const column = document.getElementById("pg-column-template").content.firstElementChild.cloneNode(true);
      column.querySelector(".pg-column-model").textContent = model;
      results.appendChild(column);
      return run(column, formBody(model));
    });
    try {
      await Promise.all(runs);
    } finally {
      send.disabled = false;
    }
  });
})();
