// Home: is this office in sync (GET /api/status), conflicts waiting
// (GET /api/conflicts), unread messages (status.messages).
import {Get} from '../api.js';
import {h, formatBytes} from '../dom.js';
import {t} from '../i18n.js';

function When(iso) {
  if (!iso) return t('home.never');
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

function PeerRow(peer) {
  const photos = peer.photos || {};
  let state = t('home.unknown');
  if (peer.in_sync) state = t('home.in_sync');
  else if (peer.behind != null || peer.ahead != null) state = t('home.not_in_sync');
  return h('tr', {},
    h('th', {scope: 'row'}, peer.name || peer.fingerprint),
    h('td', {class: peer.connected ? 'ok' : 'warn'}, peer.connected ? t('home.connected') : t('home.disconnected')),
    h('td', {}, When(peer.last_sync)),
    h('td', {class: 'num'}, peer.behind ?? '—'),
    h('td', {class: 'num'}, peer.ahead ?? '—'),
    h('td', {}, state),
    h('td', {class: 'num'}, photos.bytes_pending ? formatBytes(photos.bytes_pending) : '0'),
    h('td', {}, peer.last_error || ''));
}

export async function Render(view) {
  const [status, conflicts] = await Promise.all([Get('/api/status'), Get('/api/conflicts?limit=100')]);
  const peers = status.peers || [];
  const all_in_sync = peers.length > 0 && peers.every((peer) => peer.in_sync);
  const unread = (status.messages && status.messages.unread) || 0;
  const alerts = (status.messages && status.messages.unread_alerts) || 0;

  view.append(h('h1', {}, t('home.title', {node: status.name})));
  view.append(h('section', {class: 'cards'},
    h('div', {class: `card ${peers.length === 0 ? '' : all_in_sync ? 'ok' : 'warn'}`, id: 'card-sync'},
      h('h2', {}, t('home.sync')),
      h('p', {class: 'big'}, peers.length === 0 ? t('home.no_peers') : all_in_sync ? t('home.in_sync') : t('home.not_in_sync'))),
    h('div', {class: `card ${conflicts.length ? 'warn' : ''}`, id: 'card-conflicts'},
      h('h2', {}, t('home.conflicts')),
      h('p', {class: 'big'}, String(status.conflicts ?? conflicts.length))),
    h('div', {class: `card ${alerts ? 'warn' : ''}`, id: 'card-messages'},
      h('h2', {}, t('home.unread')),
      h('p', {class: 'big'}, String(unread)),
      alerts ? h('p', {}, t('home.alerts', {count: alerts})) : null),
    h('div', {class: 'card', id: 'card-records'},
      h('h2', {}, t('home.records')),
      h('p', {}, t('home.records_counts', {
        seizures: status.records?.seizure ?? 0, suspects: status.records?.suspect ?? 0,
        companies: status.records?.company ?? 0})))));

  if (status.stale_identity) view.append(h('p', {class: 'error', role: 'alert'}, t('home.stale')));

  view.append(h('h2', {}, t('home.peers')));
  if (peers.length === 0) {
    view.append(h('p', {}, t('home.no_peers_long')));
  } else {
    view.append(h('table', {class: 'grid', id: 'peers'},
      h('thead', {}, h('tr', {}, ['peer', 'connection', 'last_sync', 'behind', 'ahead', 'state', 'photo_bytes', 'last_error']
        .map((key) => h('th', {scope: 'col'}, t(`home.col.${key}`))))),
      h('tbody', {}, peers.map(PeerRow))));
  }

  view.append(h('h2', {}, t('home.conflicts_waiting')));
  if (conflicts.length === 0) {
    view.append(h('p', {}, t('home.no_conflicts')));
  } else {
    view.append(h('ul', {id: 'conflicts'}, conflicts.map((item) =>
      h('li', {}, h('a', {href: `#/record/${item.id}`}, item.summary || item.id),
        ` (${t('home.versions', {count: item.versions})}) `,
        h('a', {href: `#/conflicts/${item.id}`, class: 'resolve-open'}, t('conflicts.resolve'))))));
  }
}
