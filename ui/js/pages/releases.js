// Releases (analysts at a national hub): the reports this node released and
// which are pending re-release (GET /api/releases), and releasing seizures:
// first exactly the report that would leave the country (dry run), then the
// release itself (POST /api/releases, `ncenctl release`); withdrawing a
// released report, after a confirmation (POST /api/releases with withdraw).
import {Get, Post} from '../api.js';
import {h, replace} from '../dom.js';
import {t} from '../i18n.js';

// Withdrawing a released report: the button asks first, in place; the
// confirmation names the report and says what withdrawing does.
function WithdrawCell(row, onWithdrawn) {
  const cell = h('td', {class: 'withdraw'});
  const start = h('button', {type: 'button', class: 'secondary withdraw-start',
    'aria-label': t('releases.withdraw_named', {report: row.report})}, t('releases.withdraw'));
  const ask = () => {
    const message = h('p', {class: 'warn', id: `withdraw-ask-${row.report}`}, t('releases.withdraw_ask', {report: row.report}));
    const confirm = h('button', {type: 'button', class: 'withdraw-confirm', 'aria-describedby': message.id},
      t('releases.withdraw_confirm'));
    const cancel = h('button', {type: 'button', class: 'secondary withdraw-cancel'}, t('releases.cancel'));
    cancel.addEventListener('click', () => { replace(cell, start); start.focus(); });
    confirm.addEventListener('click', async () => {
      confirm.disabled = cancel.disabled = true;
      try {
        // A report whose seizure is not held here is withdrawn by its own id.
        const answer = await Post('/api/releases', {seizures: [row.seizure || row.report], withdraw: true});
        await onWithdrawn(row, answer.withdrawn || []);
      } catch (error) {
        confirm.disabled = cancel.disabled = false;
        cell.append(h('p', {class: 'error', role: 'alert'}, error.message));
      }
    });
    replace(cell, message, h('div', {class: 'form-actions'}, confirm, cancel));
    confirm.focus();
  };
  start.addEventListener('click', ask);
  return replace(cell, start);
}

function ReleaseTable(rows, onWithdrawn) {
  if (rows.length === 0) return h('p', {id: 'releases-empty'}, t('releases.none'));
  return h('div', {class: 'table-wrap'}, h('table', {class: 'grid', id: 'releases-table'},
    h('thead', {}, h('tr', {}, ['releases.seizure', 'releases.report', 'releases.scope', 'releases.state',
      'releases.released_at', 'releases.pending', 'releases.action'].map((k) => h('th', {scope: 'col'}, t(k))))),
    h('tbody', {}, rows.map((r) => h('tr', {class: r.pending ? 'warn' : '', 'data-report': r.report},
      h('td', {}, r.seizure ? h('a', {href: `#/record/${encodeURIComponent(r.seizure)}`}, r.seizure) : t('releases.not_held')),
      h('td', {}, r.report), h('td', {}, r.scope), h('td', {class: 'state'}, t(`releases.state_${r.state}`)),
      h('td', {}, r.released_at || ''),
      h('td', {}, r.pending ? [t('releases.yes'), h('ul', {}, (r.changes || []).map((c) => h('li', {}, c)))] : ''),
      r.state === 'released' ? WithdrawCell(r, onWithdrawn) : h('td', {}))))));
}

// The report exactly as it would arrive: its fields, as text.
function ReportView(report) {
  const list = h('dl', {class: 'fields-view report'});
  for (const [key, value] of Object.entries(report)) {
    const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
    list.append(h('div', {class: 'row'}, h('dt', {}, key), h('dd', {}, text)));
  }
  return list;
}

export async function Render(view, {params}) {
  view.append(h('h1', {}, t('releases.title')));
  const ids = h('textarea', {id: 'release-ids', rows: 3, 'aria-describedby': 'release-help'}, params.get('seizure') || '');
  const scope = h('select', {id: 'release-to'}, ['regional', 'global'].map((s) => h('option', {value: s}, t(`releases.to_${s}`))));
  const preview = h('section', {id: 'release-preview', 'aria-live': 'polite'});
  const release = h('button', {type: 'button', id: 'release-confirm', hidden: true}, t('releases.confirm'));
  const seizures = () => ids.value.split(/[\s,]+/).filter(Boolean);
  // The release is exactly what was previewed: changing the seizures or the
  // scope afterwards takes the Release button away until a new preview.
  let previewed = null;
  const changed = () => {
    if (!previewed) return;
    previewed = null;
    release.hidden = true;
    replace(preview, h('p', {id: 'release-preview-again', class: 'hint'}, t('releases.preview_again')));
  };
  ids.addEventListener('input', changed);
  scope.addEventListener('change', changed);
  const show = async () => {
    replace(preview);
    release.hidden = true;
    previewed = null;
    const asked = {seizures: seizures(), to: scope.value};
    try {
      const reports = await Post('/api/releases', {...asked, dry_run: true});
      preview.append(h('h2', {}, t('releases.would_leave')));
      for (const report of reports) {
        if (report.withheld && report.withheld.length) preview.append(h('p', {class: 'warn'}, t('releases.withheld', {values: report.withheld.join('; ')})));
        const shown = {...report};
        delete shown.withheld;
        preview.append(ReportView(shown));
      }
      previewed = asked;
      release.hidden = false;
    } catch (error) {
      preview.append(h('p', {class: 'error', role: 'alert'}, error.message));
    }
  };
  release.addEventListener('click', async () => {
    if (!previewed) return;
    release.disabled = true;
    try {
      const outcomes = await Post('/api/releases', previewed);
      previewed = null;
      replace(preview, h('p', {id: 'release-done', role: 'status'},
        t('releases.done', {written: outcomes.filter((o) => o.written).length, count: outcomes.length})));
      release.hidden = true;
      await show_list();
    } catch (error) {
      preview.append(h('p', {class: 'error', role: 'alert'}, error.message));
    } finally {
      release.disabled = false;
    }
  });
  view.append(h('section', {},
    h('h2', {}, t('releases.new')),
    h('div', {class: 'fields'},
      h('div', {class: 'field field-textarea'}, h('label', {for: 'release-ids'}, t('releases.ids')), ids,
        h('p', {id: 'release-help', class: 'muted'}, t('releases.ids_help'))),
      h('div', {class: 'field'}, h('label', {for: 'release-to'}, t('releases.to')), scope),
      h('div', {class: 'field'}, h('button', {type: 'button', id: 'release-preview-button', onclick: show}, t('releases.preview')))),
    preview, release));
  const list_section = h('section', {id: 'releases-list'});
  const list_message = h('p', {id: 'releases-message', role: 'status'});
  const withdrawn = async (row, reports) => {
    await show_list();
    list_message.textContent = t('releases.withdrawn', {report: reports.join(', ') || row.report});
    list_message.setAttribute('tabindex', '-1');
    list_message.focus();
  };
  const show_list = async () => replace(list_section, ReleaseTable(await Get('/api/releases'), withdrawn));
  view.append(h('h2', {}, t('releases.list')), list_message, list_section);
  try {
    await show_list();
  } catch (error) {
    list_section.append(h('p', {class: 'error', role: 'alert'}, error.message));
  }
}
