/* Diagram builder (data-widget="diagram-builder"): the model's `diagram` calculation on a design the reader edits.

   The editor (hb-1-design-editor.js) owns the controls, the URL state and the drawing; this file shows the numbers
   the model puts on the design: outputs with data-output and data-value, as every calculator does. */
(function () {
  "use strict";

  function mount(root) {
    const outputs = [...root.querySelectorAll("[data-output]")];
    outputs.forEach((o) => {
      const span = o.querySelector("[data-value]");
      if (span) o.dataset.value = span.dataset.value;
    });
    HB.designEditor(root, {
      calculation: "diagram",
      label: "Diagram builder",
      idPrefix: "db",
      render(result, display) {
        outputs.forEach((o) => {
          const name = o.dataset.output;
          if (result[name] === undefined) {
            o.dataset.value = "";
            o.textContent = "not sized";
            return;
          }
          o.dataset.value = String(result[name]);
          o.textContent = name in display ? display[name] : String(result[name]);
        });
      },
    });
  }

  HB.register("diagram-builder", mount);
})();
