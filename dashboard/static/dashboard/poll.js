// Polling panels (hx-trigger="every Ns" with data-poll-visible) ask for fresh numbers only while the
// tab is visible. htmx could say so in the trigger itself ("every 3s [document.visibilityState ===
// 'visible']"), but its trigger filters are evaluated with Function(), which the dashboard's
// Content-Security-Policy refuses (script-src 'self', no 'unsafe-eval'; htmx's allowEval is off).
// A cancelled poll is not retried; htmx schedules the next one as usual.
document.addEventListener("htmx:beforeRequest", (event) => {
  const source = event.detail.elt;
  if (source.hasAttribute("data-poll-visible") && document.visibilityState !== "visible") {
    event.preventDefault();
  }
});
