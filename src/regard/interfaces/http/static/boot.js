// Loaded before the app's modules, as a plain script: the first screen's API calls start at
// once, while the modules are still being fetched, instead of one after another once they
// have all run. api.js takes each answer (once) when the page asks for the same address;
// what the first screen does not take is dropped once it is shown.
(() => {
  const early = new Map();
  const start = (url) => {
    const answer = fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).catch(() => null);
    early.set(url, answer);
    return answer;
  };
  start("/api/session");
  const here = new URLSearchParams(window.location.search);
  const timeline =
    ["/", "/library"].includes(window.location.pathname) &&
    !["year", "folder", "undated"].some((k) => here.has(k));
  if (timeline) {
    // The timeline's months, then the first page of the newest month (timeline.js asks for
    // the same: `month`, then `limit`, its first page's size).
    start("/api/timeline/months").then(async (res) => {
      if (!res || !res.ok) return;
      const info = await res.clone().json();
      const first = info.months && info.months[0];
      if (first) start(`/api/timeline?${new URLSearchParams({ month: first.month, limit: "60" })}`);
    });
  }
  window.regardEarly = early;
})();
