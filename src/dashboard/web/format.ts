// How figures are written on the page. Every cell also carries the figure as sent (data-value),
// so what a reader sees can be checked against the admin API and /metrics.

export function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function fixed(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '—';
}

export function bytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

export function ms(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(n < 10 ? 2 : 1)} ms`;
}

export function joules(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(2)} kJ` : n >= 1 ? `${n.toFixed(2)} J` : `${(n * 1000).toFixed(1)} mJ`;
}

/** A table cell holding one figure: the text shown, and the figure itself for checking. */
export function cell(figure: string, value: number, text: string): string {
  return `<td class="n" data-figure="${esc(figure)}" data-value="${esc(value)}">${esc(text)}</td>`;
}

export function badge(state: string, text: string = state): string {
  return `<span class="badge s-${esc(state)}">${esc(text)}</span>`;
}

export function table(head: string[], rows: string[], empty: string): string {
  if (rows.length === 0) return `<div class="empty">${esc(empty)}</div>`;
  const th = head.map((h) => (h.startsWith('#') ? `<th class="n">${esc(h.slice(1))}</th>` : `<th>${esc(h)}</th>`)).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}
