// The report's behaviour: sortable tables, the view switch (all tasks / one task),
// lazily drawn plotly figures with a measure selector, and the pairwise score switch.
// Everything it needs is inline in the page: it makes no network request.
(function () {
  "use strict";
  const TEMPLATE = JSON.parse(document.getElementById("plotly-template").textContent);
  const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

  // Sorting: each cell's data-sort (number or text); empty cells go last in either direction.
  function key(cell, numeric) {
    const raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
    if (raw === "") return null;
    return numeric ? parseFloat(raw) : raw.toLowerCase();
  }
  function sortBy(table, th, index) {
    const prev = th.getAttribute("aria-sort");
    const dir = prev ? (prev === "ascending" ? "descending" : "ascending")
                     : (th.dataset.first === "desc" ? "descending" : "ascending");
    table.querySelectorAll("thead th").forEach((h) => h.removeAttribute("aria-sort"));
    th.setAttribute("aria-sort", dir);
    const numeric = th.dataset.kind === "num";
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    rows.sort((a, b) => {
      const x = key(a.cells[index], numeric), y = key(b.cells[index], numeric);
      if (x === null || y === null) return (x === null) - (y === null);
      const c = x < y ? -1 : x > y ? 1 : 0;
      return dir === "ascending" ? c : -c;
    });
    rows.forEach((r) => body.appendChild(r));
  }
  document.querySelectorAll("table.sortable").forEach((table) => {
    table.querySelectorAll("thead th").forEach((th, i) => {
      th.tabIndex = 0;
      th.addEventListener("click", () => sortBy(table, th, i));
      th.addEventListener("keydown", (e) => { if (e.key === "Enter") sortBy(table, th, i); });
    });
  });

  // Figures: drawn the first time their view is shown (a hidden div has no size).
  const specs = {};
  function redraw(div) {
    const s = specs[div.id];
    const select = document.getElementById(div.dataset.select);
    const m = select ? select.value : "";
    const own = (s.by_measure && s.by_measure[m]) || [];
    const layout = JSON.parse(JSON.stringify(s.layout));
    layout.template = TEMPLATE;
    if (div.dataset.kind === "curves") layout.yaxis2.title.text = m;
    if (div.dataset.kind === "scatter") {
      layout.title = { text: s.titles[m] || m, font: { size: 13 }, x: 0, xanchor: "left" };
      layout.xaxis.title.text = s.xtitles[m] || m;
    }
    if (!own.length) {
      layout.annotations = [{ text: "no values of " + m + " on this task", xref: "paper", yref: "paper",
        x: 0.5, y: div.dataset.kind === "curves" ? 0.23 : 0.5, showarrow: false, font: { color: "#888" } }];
    }
    Plotly.react(div, (s.base || []).concat(own), layout, CONFIG);
  }
  function draw(div) {
    if (div.dataset.drawn) return;
    div.dataset.drawn = "1";
    specs[div.id] = JSON.parse(document.getElementById(div.dataset.spec).textContent);
    redraw(div);
  }
  document.querySelectorAll("select.measure").forEach((select) => {
    select.addEventListener("change", () => {
      document.querySelectorAll('.plot[data-select="' + select.id + '"]').forEach((div) => {
        if (div.dataset.drawn) redraw(div);
      });
    });
  });

  // Pairwise: one matrix per score, one shown at a time.
  document.querySelectorAll("select.pwselect").forEach((select) => {
    select.addEventListener("change", () => {
      select.closest(".pwwrap").querySelectorAll(".pwblock").forEach((b) => {
        b.hidden = b.dataset.score !== select.value;
      });
    });
  });

  // Views: "#task=NAME" shows that task, anything else the cross-task view.
  function viewFromHash() {
    const m = /^#task=(.*)$/.exec(location.hash);
    return m ? decodeURIComponent(m[1]) : "all";
  }
  function show(name) {
    const views = Array.from(document.querySelectorAll("section.view"));
    if (!views.some((v) => v.dataset.view === name)) name = "all";
    views.forEach((v) => { v.hidden = v.dataset.view !== name; });
    document.querySelectorAll("nav .tab").forEach((b) => {
      b.setAttribute("aria-selected", String(b.dataset.view === name));
    });
    document.querySelectorAll('section.view[data-view="' + CSS.escape(name) + '"] .plot').forEach(draw);
  }
  document.querySelectorAll("nav .tab").forEach((b) => {
    b.addEventListener("click", () => {
      const name = b.dataset.view;
      const hash = name === "all" ? "" : "#task=" + encodeURIComponent(name);
      if (location.hash === hash || (!hash && !location.hash)) show(name);
      else location.hash = hash || "#all";
    });
  });
  window.addEventListener("hashchange", () => show(viewFromHash()));
  show(viewFromHash());
  document.body.dataset.ready = "1";
})();
