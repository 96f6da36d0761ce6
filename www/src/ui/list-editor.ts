// An editable list of strings (labels, templates): one text input per row, remove buttons, an
// add button, and an inline message per row. Values are read from the inputs; nothing is ever
// written back as HTML.

import { h } from "./dom";

export interface ListEditorOptions {
  /** Test hook prefix: inputs get data-testid=`${kind}-input`, buttons `${kind}-remove` / `${kind}-add`. */
  kind: string;
  placeholder: string;
  addText: string;
  /** Called on every edit (the caller debounces). */
  onChange: () => void;
  /** An inline message for a row's value, or null when it is fine. */
  check?: (value: string) => string | null;
  /** A checkbox per row switches it off without deleting it (templates in and out of the ensemble). */
  toggles?: boolean;
  /** Accessible name of a row's input, from its position ("template 2"). */
  rowName?: (index: number) => string;
}

interface Row {
  li: HTMLLIElement;
  input: HTMLInputElement;
  note: HTMLSpanElement;
  toggle: HTMLInputElement | null;
}

export class ListEditor {
  readonly element: HTMLDivElement;
  private readonly list: HTMLUListElement;
  private rows: Row[] = [];

  constructor(private readonly options: ListEditorOptions) {
    this.list = h("ul", { class: "rows" });
    const add = h("button", { type: "button", class: "add", "data-testid": `${options.kind}-add` }, options.addText);
    add.addEventListener("click", () => {
      const row = this.addRow("");
      row.input.focus();
      this.options.onChange();
    });
    this.element = h("div", { class: "list-editor" }, this.list, add);
  }

  /** The current values, blank and switched-off rows left out. */
  values(): string[] {
    return this.rows.filter((r) => r.toggle?.checked ?? true).map((r) => r.input.value).filter((v) => v.trim() !== "");
  }

  /** Every non-blank value, switched off or not, with whether it is on. */
  entries(): { value: string; on: boolean }[] {
    return this.rows.filter((r) => r.input.value.trim() !== "").map((r) => ({ value: r.input.value, on: r.toggle?.checked ?? true }));
  }

  /** Switch the rows holding `value` on or off. */
  setOn(value: string, on: boolean): void {
    for (const row of this.rows) if (row.toggle && row.input.value === value) row.toggle.checked = on;
    this.relabel();
    this.options.onChange();
  }

  set(values: string[]): void {
    for (const row of this.rows) row.li.remove();
    this.rows = [];
    for (const value of values) this.addRow(value);
    this.options.onChange();
  }

  /** Replace the inline note of every row that fails `check` with `message` (e.g. Rust's own words). */
  explainInvalid(message: string): void {
    for (const row of this.rows) if (this.options.check?.(row.input.value)) this.showNote(row, message);
  }

  private addRow(value: string): Row {
    const kind = this.options.kind;
    const input = h("input", {
      type: "text",
      class: "row-input",
      "data-testid": `${kind}-input`,
      placeholder: this.options.placeholder,
      spellcheck: "false",
      autocomplete: "off",
    });
    input.value = value;
    const toggle = this.options.toggles
      ? h("input", { type: "checkbox", class: "row-toggle", "data-testid": `${kind}-toggle`, title: "Use this one (untick to leave it out)" })
      : null;
    if (toggle) {
      toggle.checked = true;
      toggle.addEventListener("change", () => {
        row.li.classList.toggle("off", !toggle.checked);
        this.options.onChange();
      });
    }
    const remove = h("button", { type: "button", class: "remove", "data-testid": `${kind}-remove`, "aria-label": `remove ${kind}`, title: "Remove" }, "×");
    const note = h("span", { class: "row-note", role: "status" });
    const li = h("li", {}, h("div", { class: "row-line" }, toggle, input, remove), note);
    const row: Row = { li, input, note, toggle };
    input.addEventListener("input", () => {
      this.showNote(row, this.options.check?.(input.value) ?? null);
      this.options.onChange();
    });
    remove.addEventListener("click", () => {
      li.remove();
      this.rows = this.rows.filter((r) => r !== row);
      this.relabel();
      this.options.onChange();
    });
    this.showNote(row, this.options.check?.(value) ?? null);
    this.list.appendChild(li);
    this.rows.push(row);
    this.relabel();
    return row;
  }

  /** Screen readers announce each row by its position ("label 3", "remove label 3"). */
  private relabel(): void {
    this.rows.forEach((row, i) => {
      const name = this.options.rowName?.(i) ?? `${this.options.kind} ${i + 1}`;
      row.input.setAttribute("aria-label", name);
      row.li.querySelector(".remove")?.setAttribute("aria-label", `remove ${name}`);
      row.toggle?.setAttribute("aria-label", `use ${name}`);
      row.li.classList.toggle("off", row.toggle ? !row.toggle.checked : false);
    });
  }

  private showNote(row: Row, message: string | null): void {
    row.note.textContent = message ?? "";
    row.note.hidden = message === null;
    row.li.classList.toggle("invalid", message !== null);
    row.input.setAttribute("aria-invalid", message === null ? "false" : "true");
  }
}
