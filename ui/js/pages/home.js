// Home: is this office in sync (GET /api/status, refreshed every 2 s while
// the page is shown, with a progress bar per peer that has entries or photo
// bytes to exchange), conflicts waiting (GET /api/conflicts), urgent and
// unread messages (GET /api/messages?unread=1), and the seizures created
// today (GET /api/records?type=seizure, by the time in their record ids).
import {Get} from '../api.js';
import {h, formatBytes, replace} from '../dom.js';
import {t} from '../i18n.js';

const kRefreshMs = 2000;
const kTodayLimit = 200;
const kUnreadShown = 10;

function When(iso) {
  if (!iso) return t('home.never');
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

// A record id is time-ordered: its first 48 bits are the Unix milliseconds
// at which the node that created it made it (storage/types.h NewRecordId).
export function IdTime(id) {
  const hex = String(id).replace(/-/g, '').slice(0, 12);
  return /^[0-9a-f]{12}$/i.test(hex) ? new Date(parseInt(hex, 16)) : null;
}

function SameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

// Progress of one peer's exchange while this page is open: the most
// outstanding work seen since the page opened (entries either way, photo
// bytes still to fetch) is the bar's max, what is done since is its value.
// The API gives no total of a sync, so the start is the page's first look.
class SyncProgress {
  constructor() { this.high = new Map(); }

  // {entries: {value, max, left}, bytes: {…}} for `peer`, each null when
  // nothing is outstanding.
  Of(peer) {
    const photos = peer.photos || {};
    const left = {
      entries: peer.behind == null ? 0 : (peer.behind || 0) + (peer.ahead || 0),
      bytes: (photos.bytes_pending || 0) + (photos.bytes_in_flight || 0),
    };
    const key = peer.id || peer.name;
    const high = this.high.get(key) || {entries: 0, bytes: 0};
    const out = {};
    for (const what of ['entries', 'bytes']) {
      // A finished exchange starts the count again for the next one.
      high[what] = left[what] === 0 ? 0 : Math.max(high[what], left[what]);
      out[what] = left[what] === 0 ? null : {value: high[what] - left[what], max: high[what], left: left[what]};
    }
    this.high.set(key, high);
    return out;
  }
}

function ProgressBars(peer, progress) {
  const name = peer.name || peer.fingerprint;
  const bar = (what, p, text) => h('div', {class: 'sync-progress'},
    h('progress', {value: p.value, max: p.max, 'aria-label': t(`home.progress_${what}`, {peer: name}),
      'data-what': what}),
    h('span', {}, text));
  const {entries, bytes} = progress.Of(peer);
  if (!entries && !bytes) return peer.in_sync ? t('home.in_sync') : '—';
  return [
    entries ? bar('entries', entries, t('home.entries_left', {count: entries.left})) : null,
    bytes ? bar('bytes', bytes, t('home.bytes_left', {bytes: formatBytes(bytes.left)})) : null,
  ];
}

function PeerRow(peer, progress) {
  const photos = peer.photos || {};
  let state = t('home.unknown');
  if (peer.in_sync) state = t('home.in_sync');
  else if (peer.behind != null || peer.ahead != null) state = t('home.not_in_sync');
  return h('tr', {'data-peer': peer.name || peer.fingerprint},
    h('th', {scope: 'row'}, peer.name || peer.fingerprint),
    h('td', {class: peer.connected ? 'ok' : 'warn'}, peer.connected ? t('home.connected') : t('home.disconnected')),
    h('td', {}, When(peer.last_sync)),
    h('td', {class: 'num'}, peer.behind ?? '—'),
    h('td', {class: 'num'}, peer.ahead ?? '—'),
    h('td', {}, state),
    h('td', {class: 'num'}, photos.bytes_pending ? formatBytes(photos.bytes_pending) : '0'),
    h('td', {class: 'progress-cell'}, ProgressBars(peer, progress)),
    h('td', {}, peer.last_error || ''));
}

function SyncCard(peers) {
  const all_in_sync = peers.length > 0 && peers.every((peer) => peer.in_sync);
  return h('div', {class: `card ${peers.length === 0 ? '' : all_in_sync ? 'ok' : 'warn'}`, id: 'card-sync'},
    h('h2', {}, t('home.sync')),
    h('p', {class: 'big'}, peers.length === 0 ? t('home.no_peers') : all_in_sync ? t('home.in_sync') : t('home.not_in_sync')));
}

function PeersTable(peers, progress) {
  if (peers.length === 0) return h('p', {}, t('home.no_peers_long'));
  return h('div', {class: 'table-wrap'}, h('table', {class: 'grid', id: 'peers'},
    h('caption', {class: 'hint'}, t('home.peers_caption', {seconds: kRefreshMs / 1000})),
    h('thead', {}, h('tr', {}, ['peer', 'connection', 'last_sync', 'behind', 'ahead', 'state', 'photo_bytes', 'progress', 'last_error']
      .map((key) => h('th', {scope: 'col'}, t(`home.col.${key}`))))),
    h('tbody', {}, peers.map((peer) => PeerRow(peer, progress)))));
}

// Unread messages, alerts and urgent ones first (the server's order),
// each a link to the message.
function UnreadMessages(messages) {
  const section = h('section', {id: 'home-messages'}, h('h2', {}, t('home.unread_messages')));
  if (messages.length === 0) {
    section.append(h('p', {id: 'home-no-unread'}, t('home.no_unread')));
    return section;
  }
  const urgent = messages.filter((m) => m.priority === 'urgent' || m.priority === 'alert');
  if (urgent.length) section.append(h('p', {class: 'error'}, t('home.urgent_count', {count: urgent.length})));
  section.append(h('ul', {class: 'home-list', id: 'home-unread'}, messages.slice(0, kUnreadShown).map((m) =>
    h('li', {class: `priority-${m.priority}`},
      m.priority !== 'normal' ? h('strong', {class: 'priority'}, `${t(`messages.priority.${m.priority}`)}: `) : null,
      h('a', {href: `#/messages/${encodeURIComponent(m.id)}`}, m.subject || m.id),
      ` — ${m.from || ''}${m.sent_by ? ` (${m.sent_by})` : ''}, ${When(m.sent_at)}`))));
  if (messages.length > kUnreadShown) {
    section.append(h('p', {}, h('a', {href: '#/messages'}, t('home.more_unread', {count: messages.length - kUnreadShown}))));
  }
  return section;
}

// Seizures whose record id says they were created today (local time), at
// this office or any other. Only seizures: listing suspects or companies
// would write a view of each into the access log at every visit of home.
function Today(items) {
  const now = new Date();
  const today = items.filter((item) => {
    const when = IdTime(item.id);
    return when && SameDay(when, now);
  });
  const section = h('section', {id: 'home-today'}, h('h2', {}, t('home.today')),
    h('p', {class: 'hint'}, t('home.today_hint')));
  if (today.length === 0) {
    section.append(h('p', {id: 'home-none-today'}, t('home.none_today')));
    return section;
  }
  section.append(h('ul', {class: 'home-list', id: 'home-today-list'}, today.map((item) =>
    h('li', {}, h('a', {href: `#/record/${item.id}`}, item.summary || item.id),
      ` — ${IdTime(item.id).toLocaleTimeString()}`,
      item.versions > 1 ? ` (${t('home.versions', {count: item.versions})})` : null))));
  if (today.length === items.length && items.length === kTodayLimit) {
    section.append(h('p', {class: 'hint'}, t('home.today_more', {count: kTodayLimit})));
  }
  return section;
}

export async function Render(view) {
  const [status, conflicts, unread, seizures] = await Promise.all([Get('/api/status'), Get('/api/conflicts?limit=100'),
    Get('/api/messages?unread=1&limit=100'), Get(`/api/records?type=seizure&limit=${kTodayLimit}`)]);
  const progress = new SyncProgress();
  const alerts = (status.messages && status.messages.unread_alerts) || 0;
  const unread_count = (status.messages && status.messages.unread) || unread.length;

  view.append(h('h1', {}, t('home.title', {node: status.name})));
  let sync_card = SyncCard(status.peers || []);
  view.append(h('section', {class: 'cards'},
    sync_card,
    h('div', {class: `card ${conflicts.length ? 'warn' : ''}`, id: 'card-conflicts'},
      h('h2', {}, t('home.conflicts')),
      h('p', {class: 'big'}, String(status.conflicts ?? conflicts.length))),
    h('div', {class: `card ${alerts ? 'warn' : ''}`, id: 'card-messages'},
      h('h2', {}, t('home.unread')),
      h('p', {class: 'big'}, String(unread_count)),
      alerts ? h('p', {}, t('home.alerts', {count: alerts})) : null),
    h('div', {class: 'card', id: 'card-records'},
      h('h2', {}, t('home.records')),
      h('p', {}, t('home.records_counts', {
        seizures: status.records?.seizure ?? 0, suspects: status.records?.suspect ?? 0,
        companies: status.records?.company ?? 0})))));

  if (status.stale_identity) view.append(h('p', {class: 'error', role: 'alert'}, t('home.stale')));

  view.append(UnreadMessages(unread));

  const peers_section = h('section', {id: 'home-peers'});
  const show_peers = (peers) => replace(peers_section, h('h2', {}, t('home.peers')), PeersTable(peers, progress));
  show_peers(status.peers || []);
  view.append(peers_section);

  view.append(h('h2', {}, t('home.conflicts_waiting')));
  if (conflicts.length === 0) {
    view.append(h('p', {}, t('home.no_conflicts')));
  } else {
    view.append(h('ul', {id: 'conflicts'}, conflicts.map((item) =>
      h('li', {}, h('a', {href: `#/record/${item.id}`}, item.summary || item.id),
        ` (${t('home.versions', {count: item.versions})}) `,
        h('a', {href: `#/conflicts/${item.id}`, class: 'resolve-open'}, t('conflicts.resolve'))))));
  }

  view.append(Today(seizures));

  // The sync section again every 2 s while this page is shown; one timer at
  // a time, cleared when the page is left (the view leaves the document).
  let timer = null;
  let stopped = false;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    window.removeEventListener('hashchange', stop);
  };
  const tick = async () => {
    if (stopped || !view.isConnected) return stop();
    if (!document.hidden) {
      try {
        const fresh = await Get('/api/status');
        if (!view.isConnected) return stop();
        show_peers(fresh.peers || []);
        const card = SyncCard(fresh.peers || []);
        sync_card.replaceWith(card);
        sync_card = card;
      } catch (error) {
        if (!view.isConnected) return stop();
      }
    }
    if (!stopped && view.isConnected) timer = setTimeout(tick, kRefreshMs);
  };
  window.addEventListener('hashchange', stop);
  timer = setTimeout(tick, kRefreshMs);
}
