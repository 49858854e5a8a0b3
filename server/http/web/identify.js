// The identification form (/identify): sends the scan to
// POST /api/v1/identify with the caller's token and shows the answer with
// its evidence: lost or stolen candidates first, then the verdict and each
// candidate's numbers. Nothing is stored by the page.

const $ = (id) => document.getElementById(id);

const VERDICTS = {
  IDENTIFIED: 'Identified: one registered piece matches this scan.',
  CONSISTENT_WITH_SEVERAL:
    'Consistent with several pieces: they were made from the same design ' +
    'and cannot be told apart by shape. Every one is listed; none is picked.',
  NO_MATCH: 'No match: no registered ring matches this scan within the tolerance.',
};

const STATUSES = {
  PIECE_STATUS_ACTIVE: 'registered',
  PIECE_STATUS_LOST: 'REPORTED LOST',
  PIECE_STATUS_STOLEN: 'REPORTED STOLEN',
  PIECE_STATUS_SUSPENDED: 'suspended',
  PIECE_STATUS_REVOKED: 'certificate revoked',
};

function text(tag, content, className) {
  const e = document.createElement(tag);
  e.textContent = content;
  if (className) e.className = className;
  return e;
}

function percent(x) {
  return `${(100 * (x || 0)).toFixed(1)} %`;
}

function mm(x) {
  return `${(x || 0).toFixed(3)} mm`;
}

function candidateTable(candidates) {
  const table = document.createElement('table');
  const head = table.insertRow();
  for (const h of ['Piece', 'Version', 'Studio', 'Status', 'Within tolerance',
    'RMS', 'Largest difference']) {
    head.appendChild(text('th', h));
  }
  for (const c of candidates) {
    const row = table.insertRow();
    const cells = [c.title ? `${c.piece_id} (${c.title})` : c.piece_id,
      String(c.version || ''), c.studio_id || '',
      STATUSES[c.status] || c.status || '', percent(c.within_tolerance),
      mm(c.rms_mm), mm(c.max_abs_mm)];
    for (const value of cells) row.insertCell().textContent = value;
  }
  return table;
}

export function render(answer, out) {
  out.replaceChildren();
  for (const alert of answer.alerts || []) {
    out.appendChild(text('p', alert, 'alert'));
  }
  out.appendChild(text('p', VERDICTS[answer.verdict] || answer.verdict,
    'verdict'));
  if ((answer.matches || []).length > 0) {
    out.appendChild(text('h2', 'Matching pieces'));
    out.appendChild(candidateTable(answer.matches));
  }
  if (answer.verdict === 'IDENTIFIED') {
    out.appendChild(text('p', `Margin to the next piece: ${percent(answer.margin)} of the scan.`));
  }
  for (const reason of answer.reasons || []) out.appendChild(text('p', reason));
  if ((answer.candidates || []).length > 0) {
    out.appendChild(text('h2', 'Every version compared'));
    out.appendChild(candidateTable(answer.candidates));
  }
  out.appendChild(text('p',
    `Tolerance ${mm(answer.tolerance_mm)}; ${answer.signatures_searched || 0} ` +
    `registered shapes searched in ${Math.round(answer.total_ms || 0)} ms.`));
  if (answer.statement_json) {
    const link = document.createElement('a');
    link.textContent = 'Download the registry\'s signed statement';
    link.download = 'identification.json';
    link.href = URL.createObjectURL(
      new Blob([answer.statement_json], { type: 'application/json' }));
    out.appendChild(link);
  }
}

async function identify(event) {
  event.preventDefault();
  const file = $('scan').files[0];
  const out = $('answer');
  out.replaceChildren();
  if (!file) return;
  const query = new URLSearchParams({ file_name: file.name.replace(/[^A-Za-z0-9_.-]/g, '_') });
  const tolerance = $('tolerance').value;
  if (tolerance) query.set('tolerance_mm', tolerance);
  $('progress').textContent = `Sending ${(file.size / 1e6).toFixed(1)} MB and comparing...`;
  try {
    const response = await fetch(`/api/v1/identify?${query}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${$('token').value.trim()}` },
      body: file,
    });
    const answer = await response.json();
    $('progress').textContent = '';
    if (!response.ok) {
      const message = answer.error ? answer.error.message : response.statusText;
      out.appendChild(text('p', `Not identified: ${message}`, 'error'));
      return;
    }
    render(answer, out);
  } catch (e) {
    $('progress').textContent = '';
    out.appendChild(text('p', `The registry could not be reached: ${e.message}`, 'error'));
  }
}

$('identify').addEventListener('submit', identify);
