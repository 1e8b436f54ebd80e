// The prediction page's behaviour (index.html; served by sentiment/serving/page.py).
//
// It calls the JSON API the page documents, POST predict with {"texts": [...]}, and shows
// {"predictions": [{"label", "score"}], "model_version"}. The API token, when the service
// needs one, lives in the `token` variable and the password field only: never in
// localStorage, sessionStorage, a cookie or a URL. Requests go to a relative URL so the page
// also works behind a path prefix.
"use strict";

(() => {
  const body = document.body;
  // The page's elements, by their id in index.html.
  const [form, textLabel, tokenField, status, error, single, many, versionLine, result] = [
    "predict-form",
    "text-label",
    "token-field",
    "status",
    "error",
    "single-result",
    "many-result",
    "version-line",
    "result",
  ].map((id) => document.getElementById(id));
  const { text, token: tokenInput } = form.elements;
  const rows = many.querySelector("tbody");
  const hook = (id) => document.querySelector(`[data-testid="${id}"]`);
  const maxBatch = Math.max(1, Number(body.dataset.maxBatchSize) || 64);

  let token = "";
  let busy = false;

  tokenField.hidden = body.dataset.auth !== "on";
  tokenInput.addEventListener("input", () => {
    token = tokenInput.value.trim();
  });

  const mode = () => form.elements.namedItem("mode").value;
  form.addEventListener("change", (event) => {
    if (event.target.name === "mode") {
      textLabel.textContent = mode() === "lines" ? "Reviews, one per line" : "Review";
    }
  });

  // Ctrl+Enter (Cmd+Enter on a Mac) submits from anywhere on the page.
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  /** The texts to score, each with a name for messages ("line 3" or "the review"). */
  function reviews() {
    if (mode() !== "lines") {
      return text.value.trim() ? [{ text: text.value, name: "the review" }] : [];
    }
    return text.value
      .split(/\r?\n/)
      .map((line, i) => ({ text: line.trim(), name: `line ${i + 1}`, line: i + 1 }))
      .filter((review) => review.text);
  }

  class PredictError extends Error {}

  /** One POST predict; its JSON answer, or a PredictError with a message for people. */
  async function predict(batch) {
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    let response;
    try {
      response = await fetch("predict", {
        method: "POST",
        headers,
        body: JSON.stringify({ texts: batch.map((review) => review.text) }),
        credentials: "omit",
        cache: "no-store",
      });
    } catch {
      throw new PredictError("Could not reach the service. Check the connection and try again.");
    }
    const answer = await response.json().catch(() => null);
    if (response.ok && answer && Array.isArray(answer.predictions)) return answer;
    // The API's errors are {"error": "...", "reason": "..."}; texts[i] names a position.
    let detail = answer && typeof answer.error === "string" ? answer.error : "";
    detail = detail.replace(/texts\[(\d+)\]/g, (_, i) => batch[Number(i)]?.name ?? `text ${i}`);
    if (response.status === 401) {
      showTokenField();
      throw new PredictError(
        token
          ? `The API token was refused (${detail || "401"}). Check it and try again.`
          : "This service needs an API token: enter it in the API token field and try again.",
      );
    }
    const what = detail || response.statusText || "no details";
    throw new PredictError(`The service refused the request (${response.status}): ${what}`);
  }

  function showTokenField() {
    tokenField.hidden = false;
    tokenInput.focus();
  }

  function showError(message) {
    error.textContent = message;
    error.hidden = false;
    // No stale answer next to the error.
    single.hidden = many.hidden = versionLine.hidden = true;
    status.textContent = "No prediction.";
  }

  function scoreBar(score, label) {
    const bar = document.createElement("meter");
    bar.min = 0;
    bar.max = 1;
    bar.value = score;
    bar.className = label;
    bar.setAttribute("aria-label", "P(positive)");
    return bar;
  }

  function showSingle(prediction) {
    const label = hook("label");
    label.textContent = prediction.label;
    label.className = prediction.label;
    hook("score").textContent = prediction.score.toFixed(3);
    hook("score").dataset.value = String(prediction.score);
    const bar = hook("score-bar");
    bar.value = prediction.score;
    bar.className = prediction.label;
    single.hidden = false;
    many.hidden = true;
  }

  function showTable(batch, predictions) {
    const fragment = document.createDocumentFragment();
    predictions.forEach((prediction, i) => {
      const row = document.createElement("tr");
      const cells = [String(batch[i].line), batch[i].text, prediction.label];
      const hooks = ["row-line", "row-text", "row-label"];
      cells.forEach((value, c) => {
        const cell = document.createElement(c === 0 ? "th" : "td");
        if (c === 0) cell.scope = "row";
        cell.textContent = value;
        cell.dataset.testid = hooks[c];
        row.append(cell);
      });
      row.lastChild.className = prediction.label;
      const score = document.createElement("td");
      const number = document.createElement("span");
      number.textContent = prediction.score.toFixed(3);
      number.dataset.testid = "row-score";
      number.dataset.value = String(prediction.score);
      score.append(scoreBar(prediction.score, prediction.label), " ", number);
      row.append(score);
      fragment.append(row);
    });
    rows.replaceChildren(fragment);
    many.hidden = false;
    single.hidden = true;
  }

  function showVersion(versions) {
    hook("model-version").textContent = versions.join(", ");
    versionLine.hidden = false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    const lines = mode() === "lines";
    const batch = reviews();
    if (batch.length === 0) {
      showError(lines ? "Paste at least one review, one per line." : "Type a review first.");
      text.focus();
      return;
    }
    busy = true;
    form.setAttribute("aria-busy", "true");
    error.hidden = true;
    status.textContent = batch.length === 1 ? "Predicting…" : `Predicting ${batch.length} reviews…`;
    try {
      // At most max_batch_size texts per request (the API refuses more): several requests.
      const predictions = [];
      const versions = new Set();
      for (let start = 0; start < batch.length; start += maxBatch) {
        const answer = await predict(batch.slice(start, start + maxBatch));
        predictions.push(...answer.predictions);
        versions.add(answer.model_version);
      }
      if (lines) {
        showTable(batch, predictions);
        const positive = predictions.filter((p) => p.label === "positive").length;
        const scored = predictions.length === 1 ? "1 review" : `${predictions.length} reviews`;
        status.textContent = `${scored} scored: ${positive} positive, ${predictions.length - positive} negative.`;
      } else {
        showSingle(predictions[0]);
        status.textContent = `${predictions[0].label}, P(positive) ${predictions[0].score.toFixed(3)}.`;
      }
      showVersion([...versions]);
      result.scrollIntoView({ block: "nearest" });
    } catch (failure) {
      if (!(failure instanceof PredictError)) throw failure;
      showError(failure.message);
    } finally {
      busy = false;
      form.removeAttribute("aria-busy");
    }
  });
})();
