// The node's status for administrators (GET /api/status, the fields of
// `ncenctl status --json`): identity, peers with their addresses, scopes,
// rate caps and traffic, connections refused, fork reports, the stale mark,
// and the network as this node knows it; its members (GET /api/members, the
// fields of `ncenctl members --json`).
import {ApiError, Get} from '../api.js';
import {h, formatBytes} from '../dom.js';
import {t} from '../i18n.js';

// A table wider than the screen scrolls inside its box, not the page.
function Wrap(table) { return h('div', {class: 'table-wrap'}, table); }

function Table(id, columns, rows) {
  return Wrap(h('table', {class: 'grid', id},
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {scope: 'col'}, t(`status.col.${c}`))))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c) => h('td', {}, c ?? '—')))))));
}

// The network's members: name, role, country, who certified them, revoked
// or succeeded, and which scopes this node exchanges with each.
async function Members() {
  const section = h('section', {id: 'members'}, h('h2', {}, t('status.members_title')));
  let answer;
  try {
    answer = await Get('/api/members');
  } catch (error) {
    // A node older than the members route answers 404 for the path.
    const no_route = error instanceof ApiError && error.status === 404 && /^no such API path/.test(error.message);
    section.append(h('p', {class: no_route ? 'hint' : 'error', id: no_route ? 'members-unavailable' : 'members-error'},
      no_route ? t('status.members_unavailable') : error.message));
    return section;
  }
  if (!answer.network_id) {
    section.append(h('p', {id: 'members-no-network'}, t('status.no_network')));
    return section;
  }
  const members = answer.members || [];
  const scopes = (m) => Object.entries(m.exchange || {}).filter(([, yes]) => yes).map(([scope]) => scope).join(', ');
  const state = (m) => {
    if (m.revoked) return t('status.member_revoked');
    if (m.successor) return t('status.member_succeeded', {by: String(m.successor).slice(0, 16)});
    return t('status.member_valid');
  };
  section.append(h('p', {class: 'record-id'}, `${t('status.network')}: ${answer.network_id}`),
    h('div', {class: 'table-wrap'}, h('table', {class: 'grid', id: 'members-table'},
      h('thead', {}, h('tr', {}, ['name', 'fingerprint', 'member_role', 'country', 'certified_by', 'member_state',
        'exchange'].map((c) => h('th', {scope: 'col'}, t(`status.col.${c}`))))),
      h('tbody', {}, members.map((m) => h('tr', {class: m.revoked ? 'warn' : '', 'data-id': m.id},
        h('th', {scope: 'row'}, m.name || '—', m.self ? h('small', {class: 'badge'}, t('status.member_self')) : null),
        h('td', {}, m.fingerprint || ''),
        h('td', {}, m.role || ''),
        h('td', {}, m.country || (m.countries || []).join(', ') || '—'),
        h('td', {}, m.certified_by_name || (m.certified_by ? String(m.certified_by).slice(0, 16) : '—')),
        h('td', {}, state(m)),
        h('td', {}, scopes(m) || '—')))))));
  return section;
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

  view.append(await Members());
}
