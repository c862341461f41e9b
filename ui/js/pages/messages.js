// Messages: the inbox or the sent box (#/messages, #/messages?box=sent;
// GET /api/messages, alerts first), one message with its thread
// (#/messages/ID; GET /api/messages/{id} marks it read, then …/thread), and
// compose (#/compose, #/compose?reply_to=ID; POST /api/messages: to = peer
// or member names, subject, body, priority, links to records, attachments
// as base64). Bodies, subjects and names are put in as text; attachments
// are links to downloads, never shown inline.
import {ApiError, Call, Get, Query} from '../api.js';
import {Go} from '../app.js';
import {kCountries} from '../codes.js';
import {h} from '../dom.js';
import {t} from '../i18n.js';

const kPriorities = ['normal', 'urgent', 'alert'];
const kToKinds = ['nodes', 'country', 'region', 'all'];

function When(iso) {
  const date = new Date(iso);
  return iso && !Number.isNaN(date.getTime()) ? date.toLocaleString() : (iso || '');
}

function Tabs(box) {
  const tab = (target, key, current) => h('a', {href: target, 'aria-current': current ? 'page' : false, class: 'tab'}, t(key));
  return h('p', {class: 'tabs'},
    tab('#/messages', 'messages.inbox', box === 'inbox'), ' · ',
    tab('#/messages?box=sent', 'messages.sent', box === 'sent'), ' · ',
    h('a', {href: '#/compose', id: 'compose-link', class: 'button'}, t('messages.compose')));
}

async function RenderList(view, params) {
  const box = params.get('box') === 'sent' ? 'sent' : 'inbox';
  const messages = await Get(`/api/messages${Query({box: box === 'sent' ? 'sent' : null, limit: 500})}`);
  view.append(h('h1', {}, t(box === 'sent' ? 'messages.sent' : 'messages.inbox')), Tabs(box));
  if (messages.length === 0) {
    view.append(h('p', {id: 'no-messages'}, t('messages.none')));
    return;
  }
  view.append(h('div', {class: 'table-wrap'}, h('table', {class: 'grid', id: 'messages-table'},
    h('thead', {}, h('tr', {}, ['priority', box === 'sent' ? 'to' : 'from', 'subject', 'sent_at', 'state'].map((key) =>
      h('th', {scope: 'col'}, t(`messages.col.${key}`))))),
    h('tbody', {}, messages.map((message) => h('tr', {class: `priority-${message.priority} state-${message.state}`},
      h('td', {}, t(`messages.priority.${message.priority}`)),
      h('td', {}, box === 'sent' ? message.to || '' : Sender(message)),
      h('td', {}, h('a', {href: `#/messages/${message.id}`}, message.subject || t('messages.no_subject'))),
      h('td', {}, When(message.sent_at)),
      h('td', {}, t(`messages.state.${message.state}`))))))));
}

// The office, and the officer when the message names one (sent_by).
function Sender(message) { return [message.from, message.sent_by].filter(Boolean).join(' — '); }

// One message: who, when, subject, its body as text, links, attachments.
function Message(message, open) {
  return h('article', {class: `message priority-${message.priority}`, id: open ? 'message' : null, 'data-id': message.id},
    h('h2', {}, message.subject || t('messages.no_subject')),
    h('dl', {class: 'nested'},
      h('dt', {}, t('messages.col.from')), h('dd', {class: 'message-from'}, Sender(message)),
      h('dt', {}, t('messages.col.to')), h('dd', {}, message.to || ''),
      h('dt', {}, t('messages.col.sent_at')), h('dd', {}, When(message.sent_at)),
      h('dt', {}, t('messages.col.priority')), h('dd', {}, t(`messages.priority.${message.priority}`))),
    h('p', {class: 'long message-body'}, message.body || ''),
    message.links && message.links.length ? h('p', {class: 'message-links'}, `${t('messages.links')}: `,
      message.links.map((id, index) => [index ? ', ' : '', h('a', {href: `#/record/${id}`}, id)])) : null,
    message.attachments && message.attachments.length ? h('ul', {class: 'attachments'}, message.attachments.map((file, index) =>
      h('li', {}, file.held !== false  // the API does not say `held` yet (docs/api.yaml does)
        ? h('a', {href: `/api/messages/${message.id}/attachments/${index}`, download: file.name}, file.name)
        : `${file.name} (${t('messages.not_held')})`, ` — ${file.size} B`))) : null);
}

async function RenderOne(view, id) {
  const message = await Get(`/api/messages/${encodeURIComponent(id)}`);
  view.append(h('p', {}, h('a', {href: '#/messages'}, t('messages.back'))), Message(message, true),
    h('p', {}, h('a', {href: `#/compose?reply_to=${encodeURIComponent(message.id)}`, id: 'reply-link', class: 'button'},
      t('messages.reply'))));
  const thread = await Get(`/api/messages/${encodeURIComponent(id)}/thread`);
  if (thread.length > 1) {
    view.append(h('section', {id: 'thread'}, h('h2', {}, t('messages.thread', {count: thread.length})),
      thread.map((item) => item.id === message.id ? h('p', {class: 'hint'}, t('messages.this_one')) : Message(item, false))));
  }
}

function FileAsBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

const List = (text) => text.split(/[\s,]+/).map((item) => item.trim()).filter(Boolean);

async function RenderCompose(view, params) {
  const reply_to = params.get('reply_to');
  let original = null;
  if (reply_to) original = await Get(`/api/messages/${encodeURIComponent(reply_to)}?peek=1`);
  let peers = [];
  try { peers = ((await Get('/api/status')).peers || []).map((peer) => peer.name).filter(Boolean); } catch (error) { /* names are a help only */ }

  view.append(h('h1', {}, t(original ? 'messages.reply' : 'messages.compose')), Tabs(null));
  const field = (name, control, hint) => h('div', {class: `field ${control.tagName === 'TEXTAREA' ? 'field-textarea' : ''}`},
    h('label', {for: `compose-${name}`}, t(`messages.field.${name}`)), control,
    hint ? h('p', {class: 'hint', id: `compose-${name}-hint`}, hint) : null);
  // Whom to: offices by name, or (in a network) a country, a region or all.
  const to_kind = h('select', {id: 'compose-to_kind', name: 'to_kind'},
    kToKinds.map((kind) => h('option', {value: kind}, t(`messages.to_kind.${kind}`))));
  const to = h('input', {id: 'compose-to', name: 'to', type: 'text', list: 'peer-names', required: true,
    'aria-describedby': 'compose-to-hint', value: original ? original.from : params.get('to') || ''});
  const subject = h('input', {id: 'compose-subject', name: 'subject', type: 'text', required: true, maxlength: 500,
    value: original ? `${/^Re:/i.test(original.subject || '') ? '' : 'Re: '}${original.subject || ''}` : ''});
  const priority = h('select', {id: 'compose-priority', name: 'priority'},
    kPriorities.map((p) => h('option', {value: p, selected: original ? p === original.priority : p === 'normal'}, t(`messages.priority.${p}`))));
  const body = h('textarea', {id: 'compose-body', name: 'body', rows: 8});
  const links = h('input', {id: 'compose-links', name: 'links', type: 'text', 'aria-describedby': 'compose-links-hint',
    value: params.get('link') || (original && original.links ? original.links.join(' ') : '')});
  const files = h('input', {id: 'compose-attachments', name: 'attachments', type: 'file', multiple: true});
  const status = h('p', {id: 'compose-status', role: 'status'});
  const form = h('form', {id: 'compose-form', novalidate: true},
    h('datalist', {id: 'peer-names'}, peers.map((name) => h('option', {value: name}))),
    h('div', {class: 'fields'},
      field('to_kind', to_kind), field('to', to, t('messages.to_hint')), field('subject', subject), field('priority', priority),
      field('body', body), field('links', links, t('messages.links_hint')), field('attachments', files)),
    h('div', {class: 'actions'}, h('button', {type: 'submit', id: 'compose-send'}, t('messages.send')), status));
  view.append(form);
  if (original) view.append(h('section', {id: 'replying-to'}, h('h2', {}, t('messages.replying_to')), Message(original, false)));

  const to_hint = form.querySelector('#compose-to-hint');
  to_kind.addEventListener('change', () => {
    const kind = to_kind.value;
    to.disabled = kind === 'all';
    to.required = kind !== 'all';
    to.setAttribute('list', kind === 'country' ? 'country-codes' : 'peer-names');
    to_hint.textContent = t(kind === 'nodes' ? 'messages.to_hint' : `messages.to_hint_${kind}`);
  });
  form.append(h('datalist', {id: 'country-codes'}, kCountries.map((code) => h('option', {value: code}))));

  const controls = {to, subject, priority, body, links, attachments: files};
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const old of form.querySelectorAll('.field-error')) old.remove();
    for (const old of form.querySelectorAll('[aria-invalid]')) old.removeAttribute('aria-invalid');
    status.textContent = '';
    const kind = to_kind.value;
    const address = kind === 'nodes' ? {nodes: List(to.value)} : kind === 'all' ? {all: true} : {[kind]: to.value.trim()};
    const message = {to: address, subject: subject.value, body: body.value, priority: priority.value};
    if (List(links.value).length) message.links = List(links.value);
    if (original) message.reply_to = original.id;
    const button = form.querySelector('#compose-send');
    button.disabled = true;
    try {
      if (files.files.length) {
        message.attachments = await Promise.all([...files.files].map(async (file) =>
          ({name: file.name, media_type: file.type || 'application/octet-stream', data: await FileAsBase64(file)})));
      }
      const sent = await Call('POST', '/api/messages', message);
      Go(`#/messages/${sent.data.id}`);
    } catch (error) {
      button.disabled = false;
      if (!(error instanceof ApiError)) throw error;
      // "to.nodes[0]" belongs to "to", "links[1]" to "links".
      const top = error.field ? error.field.split(/[.[]/)[0] : null;
      const control = controls[top];
      const text = h('p', {class: 'field-error', role: 'alert'}, error.message);
      if (control) {
        control.setAttribute('aria-invalid', 'true');
        control.after(text);
        control.focus();
      } else {
        status.replaceChildren(text);
      }
    }
  });
}

export async function Render(view, {args, params, page}) {
  if (page === 'compose') await RenderCompose(view, params);
  else if (args[0]) await RenderOne(view, args[0]);
  else await RenderList(view, params);
}
