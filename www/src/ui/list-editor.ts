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
}

interface Row {
  li: HTMLLIElement;
  input: HTMLInputElement;
  note: HTMLSpanElement;
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

  /** The current values, blank rows left out. */
  values(): string[] {
    return this.rows.map((r) => r.input.value).filter((v) => v.trim() !== "");
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
      "aria-label": kind,
    });
    input.value = value;
    const remove = h("button", { type: "button", class: "remove", "data-testid": `${kind}-remove`, "aria-label": `remove ${kind}`, title: "Remove" }, "×");
    const note = h("span", { class: "row-note", role: "status" });
    const li = h("li", {}, h("div", { class: "row-line" }, input, remove), note);
    const row: Row = { li, input, note };
    input.addEventListener("input", () => {
      this.showNote(row, this.options.check?.(input.value) ?? null);
      this.options.onChange();
    });
    remove.addEventListener("click", () => {
      li.remove();
      this.rows = this.rows.filter((r) => r !== row);
      this.options.onChange();
    });
    this.showNote(row, this.options.check?.(value) ?? null);
    this.list.appendChild(li);
    this.rows.push(row);
    return row;
  }

  private showNote(row: Row, message: string | null): void {
    row.note.textContent = message ?? "";
    row.note.hidden = message === null;
    row.li.classList.toggle("invalid", message !== null);
    row.input.setAttribute("aria-invalid", message === null ? "false" : "true");
  }
}
