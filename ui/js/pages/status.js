// The node's status for administrators (GET /api/status, the fields of
// `ncenctl status --json`): identity, peers with their addresses, scopes,
// rate caps and traffic, connections refused, fork reports, the stale mark,
// and the network as this node knows it.
import {Get} from '../api.js';
import {h, formatBytes} from '../dom.js';
import {t} from '../i18n.js';

function Table(id, columns, rows) {
  return h('table', {class: 'grid', id},
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {scope: 'col'}, t(`status.col.${c}`))))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c) => h('td', {}, c ?? '—'))))));
}

export async function Render(view) {
  const s = await Get('/api/status');
  view.append(h('h1', {}, t('status.title')));
  const facts = [
    ['status.name', s.name], ['status.role', s.role], ['status.fingerprint', s.fingerprint],
    ['status.node_id', s.node_id], ['status.entries', String(s.entries)], ['status.conflicts', String(s.conflicts)],
    ['status.network', s.network ? `${s.network.id} (${s.network.members} ${t('status.members')})` : s.network_id],
    ['status.listen', s.listen], ['status.frontier_digest', s.frontier_digest],
  ];
  view.append(h('dl', {class: 'fields-view', id: 'status-facts'},
    facts.map(([key, value]) => h('div', {class: 'row'}, h('dt', {}, t(key)), h('dd', {}, value ?? '—')))));
  if (s.stale_identity) {
    view.append(h('p', {class: 'error', role: 'alert'}, t('status.stale', {reason: s.stale_identity_reason || ''})));
  }

  view.append(h('h2', {}, t('status.peers')));
  const peers = s.peers || [];
  view.append(peers.length === 0 ? h('p', {}, t('home.no_peers_long')) :
    Table('status-peers', ['peer', 'address', 'scopes', 'photos', 'rate', 'connected', 'last_sync', 'behind_ahead',
      'traffic', 'last_error'], peers.map((p) => [
      p.name, p.address, (p.scopes || []).join(', '), p.blobs, p.rate,
      p.connected ? t('home.connected') : t('home.disconnected'), p.last_sync,
      p.behind == null ? null : `${p.behind} / ${p.ahead}`,
      `${formatBytes(p.bytes_in)} / ${formatBytes(p.bytes_out)}`, p.last_error])));

  view.append(h('h2', {}, t('status.refused')));
  const refused = s.refused || [];
  view.append(refused.length === 0 ? h('p', {id: 'status-no-refused'}, t('status.none_refused')) :
    Table('status-refused', ['fingerprint', 'address', 'at', 'reason'],
      refused.map((r) => [r.fingerprint, r.address, r.at, r.reason])));

  view.append(h('h2', {}, t('status.forks')));
  const forks = s.forks || [];
  view.append(forks.length === 0 ? h('p', {id: 'status-no-forks'}, t('status.no_forks')) :
    Table('status-forks', ['fingerprint', 'scope', 'seq', 'detected', 'source'],
      forks.map((f) => [f.fingerprint, f.scope, String(f.seq), f.detected, f.source])));

  const violations = (s.network && s.network.violations) || [];
  if (violations.length) {
    view.append(h('h2', {}, t('status.violations')),
      Table('status-violations', ['author', 'scope', 'seq', 'detected', 'reason'],
        violations.map((v) => [v.author, v.scope, String(v.seq), v.detected, v.reason])));
  }
}
