// A searchable picker for a code list: a text box (role=combobox) and a
// popup list (role=listbox), after the WAI-ARIA combobox pattern. Typing
// filters by code and label (case- and accent-insensitive substring); up
// and down arrows move through the matches, Enter picks, Escape closes,
// Tab leaves; a click picks. The value is the code; the box shows
// "CODE — label".
//
// Built for lists of tens of thousands of entries (offices, HS codes): a
// list's folded search strings are computed once (MakeList), a keystroke
// is one pass of String.includes over them, and at most kShown options are
// made (the rest is counted: "N more — keep typing").
//
// `free` lists (offices, HS codes, subtypes: the server accepts any valid
// code) also take a code that is not in the list, when it matches
// `pattern`; the server then validates it. A strict list (countries,
// units, methods) keeps its previous value when the text is not one of its
// codes, and says so.
import {h, replace} from './dom.js';
import {t} from './i18n.js';

const kShown = 50;

// Lower case, without accents: "Tōrkham" -> "torkham".
export function Fold(text) {
  return String(text).normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

// A code list ready for filtering: `entries` are {code, label}. With
// `show_code` false (enumerations, whose codes are identifiers such as
// nii_xray) the box and the list show the label alone; the code still
// matches when typed.
export function MakeList(entries, {show_code = true} = {}) {
  const list = {entries, show_code, folded: new Array(entries.length), by_code: new Map(), by_label: new Map()};
  entries.forEach((entry, i) => {
    list.folded[i] = Fold(entry.label ? `${entry.code}\u0001${entry.label}` : entry.code);
    list.by_code.set(Fold(entry.code), entry);
    if (entry.label && !list.by_label.has(Fold(entry.label))) list.by_label.set(Fold(entry.label), entry);
  });
  return list;
}

// The matches of `query` (already folded): codes starting with it first,
// then any other match, at most `limit`; and how many there are in all.
export function Filter(list, query, limit = kShown) {
  if (query === '') return {shown: list.entries.slice(0, limit), total: list.entries.length};
  const first = [];
  const rest = [];
  let total = 0;
  const {folded, entries} = list;
  for (let i = 0; i < folded.length; i++) {
    const at = folded[i].indexOf(query);
    if (at < 0) continue;
    total++;
    if (at === 0) { if (first.length < limit) first.push(entries[i]); } else if (rest.length < limit) rest.push(entries[i]);
  }
  return {shown: first.concat(rest).slice(0, limit), total};
}


let picker_count = 0;

// Makes a picker. Options:
//   id, path (data-path), name: attributes of the text box;
//   list: from MakeList (may be replaced later with SetList);
//   value: the code to start with; required;
//   free: accept codes not in the list; pattern: a RegExp such a code must match;
//   upper: upper-case typed free codes (offices);
//   on_change(code): called with the new code ('' when cleared).
// Returns {input, element, Set(code), SetList(list)}.
export function Picker(options) {
  const id = options.id || `picker-${++picker_count}`;
  let list = options.list;
  let value = options.value || '';
  let shown = [];
  let active = -1;
  let open = false;

  const input = h('input', {id, type: 'text', role: 'combobox', 'aria-expanded': 'false', 'aria-controls': `${id}-list`,
    'aria-autocomplete': 'list', autocomplete: 'off', spellcheck: 'false', class: 'picker-input',
    'data-path': options.path, name: options.name || options.path, required: options.required,
    placeholder: options.placeholder, 'aria-describedby': `${id}-note`});
  const listbox = h('ul', {id: `${id}-list`, role: 'listbox', class: 'picker-list', tabindex: '-1',
    'aria-label': options.label || ''});
  const more = h('p', {class: 'picker-more'});
  const popup = h('div', {class: 'picker-popup', hidden: true}, listbox, more);
  const note = h('p', {class: 'picker-note', id: `${id}-note`, 'aria-live': 'polite'});
  const element = h('div', {class: 'picker'}, input, popup, note);

  function Entry(code) {
    return (code && list.by_code.get(Fold(code))) || null;
  }

  // What the box shows for `entry`: "CODE — label", the label, or the code.
  function Display(entry) {
    if (!entry.label || entry.label === entry.code) return entry.code;
    return list.show_code ? `${entry.code} — ${entry.label}` : entry.label;
  }

  function ShowValue() {
    const entry = Entry(value);
    input.value = entry ? Display(entry) : value;
    input.dataset.code = value;
  }

  function SetActive(index) {
    const old = listbox.children[active];
    if (old) old.removeAttribute('aria-selected');
    active = index;
    const option = listbox.children[active];
    if (option) {
      option.setAttribute('aria-selected', 'true');
      input.setAttribute('aria-activedescendant', option.id);
      option.scrollIntoView({block: 'nearest'});
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  }

  // Shows the matches of the box's text: at most kShown nodes are made.
  function Draw() {
    const text = input.value === Display(Entry(value) || {code: value}) ? '' : input.value.trim();
    const {shown: matches, total} = Filter(list, Fold(text));
    shown = matches;
    replace(listbox, matches.map((entry, i) => h('li', {id: `${id}-opt-${i}`, role: 'option', class: 'picker-option',
      'data-code': entry.code, onmousedown: (event) => event.preventDefault(), onclick: () => Pick(entry.code)},
    list.show_code || !entry.label ? h('span', {class: 'picker-code'}, entry.code) : null,
    entry.label && entry.label !== entry.code ? h('span', {class: 'picker-label'}, entry.label) : null)));
    more.textContent = total > matches.length ? t('picker.more', {count: total - matches.length})
      : total === 0 ? t('picker.none') : '';
    active = -1;
    input.removeAttribute('aria-activedescendant');
    // A popup wider than the room after the box opens toward its start instead.
    popup.classList.remove('picker-popup-end');
    const box = popup.getBoundingClientRect();
    if (box.right > document.documentElement.clientWidth || box.left < 0) popup.classList.add('picker-popup-end');
  }

  function Open() {
    if (!open) {
      open = true;
      popup.hidden = false;
      input.setAttribute('aria-expanded', 'true');
    }
    Draw();
  }

  function Close() {
    if (!open) return;
    open = false;
    popup.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    listbox.replaceChildren();
    shown = [];
    active = -1;
  }

  function Set(code, notify = true) {
    const changed = code !== value;
    value = code;
    note.textContent = '';
    ShowValue();
    if (changed && notify && options.on_change) options.on_change(code);
  }

  function Pick(code) {
    Set(code);
    Close();
    input.select();
  }

  // Takes what was typed: a code of the list, a free code, or nothing.
  function Commit() {
    const text = input.value.trim();
    if (text === Display(Entry(value) || {code: value})) return;
    if (text === '') { Set(''); return; }
    const typed = text.split(' — ')[0].trim();
    const entry = Entry(typed) || list.by_label.get(Fold(text));
    if (entry) { Set(entry.code); return; }
    const code = options.upper ? typed.toUpperCase() : typed;
    if (options.free && (!options.pattern || options.pattern.test(code))) {
      Set(code);
      note.textContent = t('picker.not_listed');
      return;
    }
    ShowValue();
    note.textContent = t('picker.not_a_code', {text});
  }

  input.addEventListener('input', Open);
  input.addEventListener('focus', () => input.select());
  input.addEventListener('change', Commit);
  input.addEventListener('blur', () => { Commit(); Close(); });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      if (!open) { Open(); if (event.altKey) return; }
      if (shown.length === 0) return;
      const step = event.key === 'ArrowDown' ? 1 : -1;
      SetActive(active < 0 ? (step > 0 ? 0 : shown.length - 1) : (active + step + shown.length) % shown.length);
    } else if (event.key === 'Enter') {
      if (!open) return;  // the form's own Enter
      event.preventDefault();
      if (active >= 0) Pick(shown[active].code);
      else { Commit(); Close(); }
    } else if (event.key === 'Escape') {
      if (open) { event.preventDefault(); Close(); } else { ShowValue(); }
    } else if (event.key === 'Tab') {
      if (open && active >= 0) Set(shown[active].code);
      Close();
    }
  });

  ShowValue();
  return {
    input, element,
    Set: (code) => Set(code, false),
    SetList: (new_list) => { list = new_list; ShowValue(); if (open) Draw(); },
  };
}
