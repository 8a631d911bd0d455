// The viewer's script: draws one page of slices (rows) x (truth + one column per run) from the
// JSON the generator put in the page, and the controls and keys that move through it.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("view-data").textContent);
  const patients = [...new Set(data.slices.map((s) => s.patient))];
  // Every epoch any run shows, in order: the slider's stops.
  const epochs = [...new Set(data.runs.flatMap((r) => r.epochs))].sort((a, b) => a - b);
  // A slider only when a run saved several epochs (with best epochs only, each run has one).
  const slider = data.runs.some((r) => r.epochs.length > 1);
  const sorts = [{ key: "order", label: "slice order" }];
  data.runs.forEach((run, r) => {
    sorts.push({ key: "dice:" + r, label: "worst Dice first: " + run.name });
    sorts.push({ key: "hd:" + r, label: "largest HD first: " + run.name });
  });
  const state = {
    page: 0,
    patient: "",
    sort: "order",
    mode: "contour",
    overlays: true,
    outline: true,
    epoch: epochs.length - 1,
  };

  // The state in the address (#patient=...&sort=...&page=...&epoch=...&mode=fill): a link or a
  // reload shows the same panels. Unknown or invalid values are ignored.
  function readAddress() {
    const params = new URLSearchParams(location.hash.slice(1));
    if (patients.includes(params.get("patient"))) state.patient = params.get("patient");
    if (sorts.some((s) => s.key === params.get("sort"))) state.sort = params.get("sort");
    if (["fill", "contour"].includes(params.get("mode"))) state.mode = params.get("mode");
    const page = parseInt(params.get("page"), 10);
    if (page >= 1) state.page = page - 1;
    const epoch = epochs.indexOf(parseInt(params.get("epoch"), 10));
    if (slider && epoch >= 0) state.epoch = epoch;
  }

  function writeAddress() {
    const params = new URLSearchParams();
    if (state.patient) params.set("patient", state.patient);
    if (state.sort !== "order") params.set("sort", state.sort);
    if (state.mode !== "contour") params.set("mode", state.mode);
    if (state.page > 0) params.set("page", state.page + 1);
    if (slider) params.set("epoch", epochs[state.epoch]);
    try {
      history.replaceState(null, "", "#" + params.toString());
    } catch (e) {
      // Some browsers refuse history changes on file:// pages; the page works without.
    }
  }

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([k, v]) => {
      if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    });
    (children || []).forEach((c) => node.append(c));
    return node;
  }

  // The index into run r's panels shown at the slider's epoch: that epoch if the run saved it,
  // the run's only epoch if it has one (best or a chosen epoch), else none.
  function panelIndex(r) {
    const run = data.runs[r];
    const i = run.epochs.indexOf(epochs[state.epoch]);
    if (i >= 0) return i;
    return run.epochs.length === 1 ? 0 : -1;
  }

  function mean(values) {
    const finite = values.filter((v) => v !== null && Number.isFinite(v));
    return finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : null;
  }

  function sortValue(slice, sort) {
    const [what, r] = sort.split(":");
    const i = panelIndex(+r);
    if (i < 0) return null;
    const metrics = slice.runs[+r][i].metrics;
    return mean(metrics.map((m) => (what === "dice" ? m.dice : m.hd)));
  }

  // The slices of the selected patient (or all), in the chosen order (ties keep slice order).
  function visibleSlices() {
    let list = data.slices.map((s, i) => ({ s, i }));
    if (state.patient) list = list.filter((x) => x.s.patient === state.patient);
    if (state.sort !== "order") {
      const dice = state.sort.startsWith("dice");
      const key = (x) => {
        const v = sortValue(x.s, state.sort);
        if (v === null) return Infinity;
        return dice ? v : -v;
      };
      list = list
        .map((x) => ({ x, k: key(x) }))
        .sort((a, b) => a.k - b.k || a.x.i - b.x.i)
        .map((y) => y.x);
    }
    return list.map((x) => x.s);
  }

  function pageCount() {
    return Math.max(1, Math.ceil(visibleSlices().length / data.per_page));
  }

  function fmt(v, digits) {
    return v === null || !Number.isFinite(v) ? "–" : v.toFixed(digits);
  }

  function stack(slice, overlay, outline) {
    const children = [
      el("img", { class: "base", src: slice.image, width: slice.width, height: slice.height,
        loading: "lazy", alt: "image of " + slice.name }),
    ];
    if (overlay) {
      children.push(el("img", { class: "overlay fill", src: overlay + "_fill.png", alt: "",
        width: slice.width, height: slice.height, loading: "lazy" }));
      children.push(el("img", { class: "overlay line", src: overlay + "_line.png", alt: "",
        width: slice.width, height: slice.height, loading: "lazy" }));
    }
    if (outline && slice.truth) {
      children.push(el("img", { class: "overlay outline", src: slice.truth + "_outline.png",
        alt: "", width: slice.width, height: slice.height, loading: "lazy" }));
    }
    return el("div", { class: "stack", style: "width:" + slice.width + "px;height:" +
      slice.height + "px" }, children);
  }

  // Panels are at least as wide as their captions' longest line.
  function panelWidth(slice) {
    return Math.max(slice.width, 190);
  }

  function truthPanel(slice) {
    const lines = [el("div", { class: "col", text: "ground truth" }),
      el("div", { class: "epoch", text: slice.truth ? "\u00a0" : "no foreground" }),
      el("div", { class: "name", text: slice.name })];
    if (slice.truth) {
      data.metric_classes.forEach((k, j) => {
        lines.push(el("div", { text: "class " + k + ": " + slice.areas[j] + " px" }));
      });
    }
    return el("figure", { class: "panel", "data-kind": "truth", style: "width:" +
      panelWidth(slice) + "px" }, [stack(slice, slice.truth, false), el("figcaption", {}, lines)]);
  }

  function runPanel(slice, r) {
    const run = data.runs[r];
    const i = panelIndex(r);
    const lines = [];
    let overlay = null;
    if (i < 0) {
      lines.push(el("div", { class: "col", text: run.name }));
      lines.push(el("div", { class: "missing", text: "no prediction at epoch " +
        epochs[state.epoch] }));
    } else {
      const panel = slice.runs[r][i];
      overlay = panel.overlay;
      const best = run.best === panel.epoch ? " (best)" : "";
      lines.push(el("div", { class: "col", text: run.name }));
      lines.push(el("div", { class: "epoch", text: "epoch " + panel.epoch + best }));
      lines.push(el("div", { class: "name", text: slice.name }));
      panel.metrics.forEach((m) => {
        const prefix = data.metric_classes.length > 1 ? "class " + m.class + ": " : "";
        // Unbreakable parts, so that a narrow panel wraps between them instead of clipping.
        const parts = [prefix + "Dice " + fmt(m.dice, 3), "· HD " + fmt(m.hd, 1) + " " + data.units];
        if (m.empty && m.empty !== "both") parts.push("(" + m.empty + " empty)");
        const spans = [];
        parts.forEach((part, j) => {
          if (j > 0) spans.push(" ");
          spans.push(el("span", { text: part }));
        });
        lines.push(el("div", { class: "metric" }, spans));
      });
    }
    return el("figure", { class: "panel", "data-kind": "run", "data-run": r, style: "width:" +
      panelWidth(slice) + "px" }, [stack(slice, overlay, true), el("figcaption", {}, lines)]);
  }

  function columnsRow(width) {
    const names = ["ground truth"].concat(data.runs.map((r) => r.name));
    return el("div", { class: "columns" }, [el("div", { class: "row-head", text: "slice" })]
      .concat(names.map((n) => el("div", { class: "column-name", style: "width:" +
      (Math.max(width, 190) + 2) +
        "px", title: n, text: n }))));
  }

  function render() {
    const list = visibleSlices();
    state.page = Math.min(Math.max(0, state.page), pageCount() - 1);
    const first = state.page * data.per_page;
    const shown = list.slice(first, first + data.per_page);
    const rows = document.getElementById("rows");
    rows.replaceChildren();
    if (shown.length) rows.append(columnsRow(Math.max(...shown.map((s) => s.width))));
    shown.forEach((slice) => {
      const head = el("div", { class: "row-head" }, [el("b", { text: slice.name }),
        el("span", { text: "patient " + slice.patient })]);
      const panels = [truthPanel(slice)].concat(data.runs.map((_, r) => runPanel(slice, r)));
      rows.append(el("div", { class: "row", "data-slice": slice.name }, [head].concat(panels)));
    });
    document.body.className = [state.mode, state.overlays ? "" : "no-overlays",
      state.outline ? "" : "no-outline"].join(" ").trim();
    const sortLabel = sorts.find((s) => s.key === state.sort).label;
    const epochText = slider ? " · epoch " + epochs[state.epoch] : "";
    document.getElementById("status").textContent = (list.length ? "slices " + (first + 1) +
      "–" + (first + shown.length) + " of " + list.length : "no slice") + " · " +
      (state.patient ? "patient " + state.patient : "all " + patients.length + " patients") +
      " · " + sortLabel + epochText + " · page " + (state.page + 1) + " of " + pageCount();
    syncControls();
    writeAddress();
    document.body.dataset.ready = "1";
  }

  const controls = {};
  function syncControls() {
    controls.patient.value = state.patient;
    controls.sort.value = state.sort;
    controls.mode.textContent = state.mode === "contour" ? "contours (c)" : "filled (c)";
    controls.mode.setAttribute("aria-pressed", state.mode === "fill" ? "true" : "false");
    controls.outline.setAttribute("aria-pressed", state.outline ? "true" : "false");
    controls.overlays.setAttribute("aria-pressed", state.overlays ? "true" : "false");
    if (controls.epoch) {
      controls.epoch.value = state.epoch;
      controls.epochValue.textContent = "epoch " + epochs[state.epoch];
    }
  }

  function buildControls() {
    const box = document.getElementById("controls");
    controls.patient = el("select", { id: "patient" }, [el("option", { value: "",
      text: "all patients" })].concat(patients.map((p) => el("option", { value: p, text: p }))));
    controls.patient.addEventListener("change", () => {
      state.patient = controls.patient.value;
      state.page = 0;
      render();
    });
    controls.sort = el("select", { id: "sort" }, sorts.map((s) => el("option", { value: s.key,
      text: s.label })));
    controls.sort.addEventListener("change", () => {
      state.sort = controls.sort.value;
      state.page = 0;
      render();
    });
    controls.mode = el("button", { id: "mode", type: "button" });
    controls.mode.addEventListener("click", () => act("c"));
    controls.outline = el("button", { id: "outline", type: "button", text: "truth outline (t)" });
    controls.outline.addEventListener("click", () => act("t"));
    controls.overlays = el("button", { id: "overlays", type: "button", text: "overlays (o)" });
    controls.overlays.addEventListener("click", () => act("o"));
    box.append(el("label", {}, ["patient", controls.patient]),
      el("label", {}, ["sort", controls.sort]), controls.mode, controls.outline,
      controls.overlays);
    if (slider) {
      controls.epoch = el("input", { id: "epoch", type: "range", min: 0,
        max: epochs.length - 1, step: 1 });
      controls.epochValue = el("span", { id: "epoch-value" });
      controls.epoch.addEventListener("input", () => {
        state.epoch = +controls.epoch.value;
        render();
      });
      box.append(el("label", {}, ["predictions at", controls.epoch, controls.epochValue]));
    }
    const legend = document.getElementById("legend");
    data.classes.forEach((c) => {
      legend.append(el("span", {}, [el("span", { class: "swatch", style: "border-color:" +
        c.colour + ";background:" + c.colour + "73" }), "class " + c.index]));
    });
    legend.append(el("span", {}, [el("span", { class: "swatch outline", style: "border-color:" +
      data.truth_outline }), "truth outline (over predictions)"]));
    document.getElementById("help").innerHTML =
      "<kbd>→</kbd>/<kbd>←</kbd> next/previous page · <kbd>n</kbd>/<kbd>p</kbd> next/previous " +
      "patient · <kbd>a</kbd> all patients · <kbd>c</kbd> contours/filled · <kbd>t</kbd> truth " +
      "outline · <kbd>o</kbd> overlays · <kbd>s</kbd> next sort · <kbd>[</kbd>/<kbd>]</kbd> " +
      "epoch · HD: Hausdorff distance of the slice (" + data.units + "; an empty mask gives " +
      "the slice's diagonal)";
  }

  function cyclePatient(step) {
    const i = patients.indexOf(state.patient);
    const next = i < 0 ? (step > 0 ? 0 : patients.length - 1)
      : (i + step + patients.length) % patients.length;
    state.patient = patients[next];
    state.page = 0;
  }

  // One action per key; false when the key means nothing here.
  function act(key) {
    switch (key) {
      case "ArrowRight": case "ArrowDown": case "j": case " ": state.page += 1; break;
      case "ArrowLeft": case "ArrowUp": case "k": state.page -= 1; break;
      case "Home": state.page = 0; break;
      case "End": state.page = pageCount() - 1; break;
      case "n": cyclePatient(1); break;
      case "p": cyclePatient(-1); break;
      case "a": state.patient = ""; state.page = 0; break;
      case "c": state.mode = state.mode === "contour" ? "fill" : "contour"; break;
      case "t": state.outline = !state.outline; break;
      case "o": state.overlays = !state.overlays; break;
      case "s": {
        const i = sorts.findIndex((s) => s.key === state.sort);
        state.sort = sorts[(i + 1) % sorts.length].key;
        state.page = 0;
        break;
      }
      case "]": case ".": state.epoch = Math.min(epochs.length - 1, state.epoch + 1); break;
      case "[": case ",": state.epoch = Math.max(0, state.epoch - 1); break;
      default: return false;
    }
    render();
    return true;
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.tagName === "SELECT" && event.key.startsWith("Arrow")) return;
    if (act(event.key)) event.preventDefault();
  });

  buildControls();
  readAddress();
  render();
  window.viewer = { data, state, epochs, patients, visibleSlices, render, act };
})();
