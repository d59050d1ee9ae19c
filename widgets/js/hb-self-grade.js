/* Self-grading sheet (data-widget="self-grade"): the reader grades a mock round question by question; the sheet
   shows a score and the three changes worth making next, and keeps the answers in localStorage only.

   The form is complete in the built page (a printable checklist without scripts); this script adds the score, the
   advice list, storage, reset and print. It needs no Python. Every text it writes comes from the page's own
   data-advice attributes or from fixed strings, set with textContent, never as HTML. */
(function () {
  "use strict";
  const MAX_CHANGES = 3;
  const POINTS = { 0: 0, 1: 1, 2: 2 };

  function storage() {
    try {
      const probe = "__hb_probe__";
      window.localStorage.setItem(probe, probe);
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (error) {
      return null; // private mode or storage disabled: the sheet still works, it just forgets
    }
  }

  function mount(root) {
    const form = root.querySelector("form");
    const items = [...root.querySelectorAll("[data-criterion]")];
    const score = root.querySelector('[data-output="score"]');
    const changes = root.querySelector('[data-output="changes"]');
    const key = root.dataset.storageKey || "hb-self-grade";
    const store = storage();

    function read() {
      const state = { grades: {}, notes: {} };
      items.forEach((item) => {
        const name = item.dataset.criterion;
        const checked = item.querySelector('input[type="radio"]:checked');
        if (checked) state.grades[name] = checked.value;
        const note = item.querySelector("textarea");
        if (note && note.value.trim()) state.notes[name] = note.value;
      });
      return state;
    }

    function write(state) {
      items.forEach((item) => {
        const name = item.dataset.criterion;
        item.querySelectorAll('input[type="radio"]').forEach((radio) => {
          radio.checked = state.grades[name] === radio.value;
        });
        const note = item.querySelector("textarea");
        if (note) note.value = state.notes[name] || "";
      });
    }

    function mirrorNotes() {
      // Textareas print badly (clipped, with scroll bars): print a plain copy of each note instead.
      root.querySelectorAll("[data-print-for]").forEach((copy) => {
        const field = form.elements.namedItem(copy.dataset.printFor);
        copy.textContent = field ? field.value : "";
      });
    }

    function render(state) {
      const graded = items.filter((item) => item.dataset.criterion in state.grades);
      changes.replaceChildren();
      items.forEach((item) => item.removeAttribute("data-grade"));
      graded.forEach((item) => item.setAttribute("data-grade", state.grades[item.dataset.criterion]));
      if (graded.length < items.length) {
        const left = items.length - graded.length;
        score.dataset.value = "";
        score.textContent = "Graded " + graded.length + " of " + items.length + " questions; " + left +
          (left === 1 ? " is" : " are") + " left before the score means anything.";
        root.dataset.state = "partial";
      } else {
        const total = graded.reduce((sum, item) => sum + POINTS[state.grades[item.dataset.criterion]], 0);
        const share = total / (2 * items.length);
        const percent = Math.round(share * 100);
        score.dataset.value = String(share);
        let band = "below the bar: fix the first change below before the next mock.";
        if (share >= 0.8) band = "above the bar: keep the habits, and grade a harder question next time.";
        else if (share >= 0.5) band = "at the bar: the changes below separate you from a clear hire.";
        score.textContent = "Score " + percent + "% (" + total + " of " + 2 * items.length + " points), " + band;
        root.dataset.state = "graded";
      }
      const weakest = graded
        .map((item) => ({ item, grade: state.grades[item.dataset.criterion] }))
        .filter((entry) => entry.grade !== "2")
        .sort((a, b) => Number(a.grade) - Number(b.grade) || items.indexOf(a.item) - items.indexOf(b.item))
        .slice(0, MAX_CHANGES);
      weakest.forEach(({ item, grade }) => {
        const entry = document.createElement("li");
        const title = document.createElement("strong");
        title.textContent = item.querySelector("legend").textContent + " ";
        entry.append(title, document.createTextNode(item.getAttribute("data-advice-" + grade) || ""));
        changes.append(entry);
      });
      mirrorNotes();
    }

    function save() {
      const state = read();
      if (store) {
        try {
          store.setItem(key, JSON.stringify(state));
        } catch (error) {
          /* storage full or refused: keep working without it */
        }
      }
      render(state);
    }

    function load() {
      if (!store) return { grades: {}, notes: {} };
      try {
        const saved = JSON.parse(store.getItem(key) || "null");
        if (saved && typeof saved === "object") {
          return { grades: Object(saved.grades), notes: Object(saved.notes) };
        }
      } catch (error) {
        store.removeItem(key); // unreadable: start again rather than fail
      }
      return { grades: {}, notes: {} };
    }

    form.addEventListener("change", save);
    form.addEventListener("input", (event) => {
      if (event.target.tagName === "TEXTAREA") save();
    });
    form.addEventListener("submit", (event) => event.preventDefault());
    root.querySelector('[data-action="print"]').addEventListener("click", () => {
      mirrorNotes();
      window.print();
    });
    root.querySelector('[data-action="reset"]').addEventListener("click", () => {
      if (store) store.removeItem(key);
      write({ grades: {}, notes: {} });
      render({ grades: {}, notes: {} });
      const first = root.querySelector('input[type="radio"]');
      if (first) first.focus();
    });

    const state = load();
    // Keep only values the sheet knows, so an edited or stale entry cannot select nothing or break the score.
    Object.keys(state.grades).forEach((name) => {
      if (!(String(state.grades[name]) in POINTS) || !items.some((i) => i.dataset.criterion === name)) {
        delete state.grades[name];
      } else {
        state.grades[name] = String(state.grades[name]);
      }
    });
    Object.keys(state.notes).forEach((name) => {
      if (typeof state.notes[name] !== "string") delete state.notes[name];
    });
    write(state);
    render(state);
    root.dataset.ready = "true";
  }

  if (window.HB) window.HB.register("self-grade", mount);
})();
