// A small DOM builder: elements from a tag, attributes and children, listeners as `on<event>` attributes.
// Styles are never set as attributes (the page's Content-Security-Policy forbids inline styles); code
// that positions something sets `element.style` properties instead.
export type Child = Node | string | number | false | null | undefined | Child[];
type Value = string | number | boolean | null | undefined | ((event: Event) => void);

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, Value> | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, "");
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]) {
  for (const child of children) {
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else if (child !== false && child !== null && child !== undefined)
      el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replace an element's content only when what it shows changed, so live updates neither flicker nor steal focus. */
export function setText(el: Element, text: string) {
  if (el.textContent !== text) el.textContent = text;
}

/** Replace `old` by `next` only when their markup differs; returns the element now in the page. */
export function swap<T extends Element>(old: T, next: T): T {
  if (old.isEqualNode(next)) return old;
  old.replaceWith(next);
  return next;
}
