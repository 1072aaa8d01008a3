// The dashboard page: reads the node's live feed (server-sent events from
// /admin/dashboard/events, read with fetch so the admin token can go in a header), hands each
// snapshot to the four views, and switches views and colour schemes.

import './style.css';
import type { DashboardSnapshot } from '../types.js';
import { EnergyView } from './energy-view.js';
import { FleetView } from './fleet-view.js';
import { NodeView } from './node-view.js';
import { TracesView } from './traces-view.js';

const VIEWS = ['node', 'energy', 'traces', 'fleet'] as const;
type View = (typeof VIEWS)[number];
const THEMES = ['auto', 'light', 'dark'] as const;
const RETRY_MS = 2000;

// An admin token given as #token=… stays in this tab only and leaves the address bar.
const fromHash = /(?:^#|&)token=([^&]+)/.exec(location.hash);
if (fromHash) {
  sessionStorage.setItem('weft-token', decodeURIComponent(fromHash[1]!));
  history.replaceState(null, '', location.pathname + location.search);
}
const token = sessionStorage.getItem('weft-token');
const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};

const $ = <T extends HTMLElement>(sel: string) => document.querySelector<T>(sel)!;
const notice = $('#notice');

function say(message: string | undefined): void {
  notice.hidden = message === undefined;
  notice.textContent = message ?? '';
}

async function fetchJson(path: string): Promise<unknown> {
  const res = await fetch(path, { headers });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${((await res.json().catch(() => ({}))) as { error?: string }).error ?? ''}`);
  return res.json();
}

const nodeView = new NodeView($('#view-node'));
const energyView = new EnergyView($('#view-energy'));
const tracesView = new TracesView($('#view-traces'), fetchJson);
const fleetView = new FleetView($('#view-fleet'));

function show(view: View): void {
  for (const v of VIEWS) $(`#view-${v}`).hidden = v !== view;
  for (const b of document.querySelectorAll<HTMLElement>('.tabs button')) b.setAttribute('aria-selected', String(b.dataset.view === view));
  if (location.hash !== `#${view}`) history.replaceState(null, '', `#${view}`);
}
for (const b of document.querySelectorAll<HTMLElement>('.tabs button')) b.addEventListener('click', () => show(b.dataset.view as View));
show((VIEWS as readonly string[]).includes(location.hash.slice(1)) ? (location.hash.slice(1) as View) : 'node');

function applyTheme(theme: (typeof THEMES)[number]): void {
  if (theme === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
  $('#theme').textContent = theme;
  localStorage.setItem('weft-theme', theme);
  nodeView.restyle();
  energyView.restyle();
}
applyTheme((localStorage.getItem('weft-theme') as (typeof THEMES)[number] | null) ?? 'auto');
$('#theme').addEventListener('click', () => applyTheme(THEMES[(THEMES.indexOf($('#theme').textContent as (typeof THEMES)[number]) + 1) % THEMES.length]!));
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
  nodeView.restyle();
  energyView.restyle();
});

function render(s: DashboardSnapshot): void {
  $('#node-version').textContent = `v${s.version}`;
  $('#updated').textContent = new Date(s.at).toLocaleTimeString();
  document.body.dataset.at = String(s.at);
  nodeView.update(s);
  energyView.update(s);
  tracesView.update(s);
  fleetView.update(s);
}

function live(on: boolean, text: string): void {
  const el = $('#live');
  el.className = `live ${on ? 'on' : 'off'}`;
  el.textContent = text;
}

/** Reads the event stream; reconnects after a pause when it ends or fails. */
async function follow(): Promise<void> {
  for (;;) {
    try {
      const res = await fetch('/admin/dashboard/events', { headers });
      if (res.status === 403) {
        say('This node needs its admin token: open the dashboard as /dashboard#token=<admin token>.');
        live(false, 'forbidden');
        return;
      }
      if (!res.ok || res.body === null) throw new Error(`feed answered ${res.status}`);
      say(undefined);
      live(true, 'live');
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).replace(/^ /, ''))
            .join('\n');
          if (data !== '') render(JSON.parse(data) as DashboardSnapshot);
        }
      }
    } catch (err) {
      say(`Lost the node's feed (${(err as Error).message}); retrying.`);
    }
    live(false, 'reconnecting…');
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}
void follow();
