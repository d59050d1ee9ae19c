/* Design review (data-widget="design-review"): the model's `design_review` calculation on a design the reader edits,
   optionally through a company's lens. Findings are rebuilt with textContent from the model's result: severity, title,
   evidence (numbers formatted by sizing.formatting inside Pyodide), what a stronger answer does, and the level. */
(function () {
  "use strict";

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function findingsView(result) {
    const box = el("div", "hb-review__result");
    const head = el("p", "hb-review__level");
    head.dataset.level = result.level;
    const badge = el("span", "hb-review__badge", result.level);
    badge.dataset.output = "level";
    badge.dataset.value = result.level;
    head.append(badge, document.createTextNode(" " + result.level_text + " " + result.level_reason));
    const list = el("ol", "hb-review__findings");
    result.findings.forEach((f) => {
      const item = el("li", "hb-finding");
      item.dataset.severity = f.severity;
      item.dataset.check = f.check;
      const top = el("p", "hb-finding__head");
      top.append(el("span", "hb-finding__severity", f.severity), document.createTextNode(" "), el("span", "hb-finding__title", f.title));
      if (f.lens) top.append(el("span", "hb-finding__lens", "lens priority"));
      const evidence = el("p", "hb-finding__evidence");
      evidence.append(el("span", "hb-finding__label", "Evidence"), document.createTextNode(" " + f.evidence_text));
      const stronger = el("p", "hb-finding__stronger");
      stronger.append(el("span", "hb-finding__label", "A stronger answer"), document.createTextNode(" " + f.stronger));
      item.append(top, evidence, stronger);
      list.append(item);
    });
    box.append(head, list);
    return box;
  }

  function mount(root) {
    const target = root.querySelector(".hb-review");
    HB.designEditor(root, {
      calculation: "design_review",
      label: "Design review",
      idPrefix: "dr",
      lens: true,
      render(result) {
        target.replaceChildren(findingsView(result));
        root.dataset.level = result.level;
      },
    });
  }

  HB.register("design-review", mount);
})();
