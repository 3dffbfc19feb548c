// The `--output json` document of the wasmtime host (guest/src/sync_core/report.rs), rendered
// from the WIT report jco hands back, so scripts read the same thing from either host.

export function reportJson(report) {
  return {
    dryRun: report.dryRun,
    summary: report.summary,
    changes: report.groups.map((g) => ({
      group: g.group,
      action: g.action,
      status: g.status,
      changes: Object.fromEntries(
        g.changes.map((c) => [c.key, { from: parsed(c.before), to: parsed(c.after) }]),
      ),
      ...(g.reason === undefined ? {} : { reason: g.reason }),
      ...(g.error === undefined ? {} : { error: g.error }),
    })),
    requests: report.requests,
    warnings: report.warnings.map(issueText),
  };
}

/** An attribute value crosses the WIT boundary as JSON text; absent is `null`. */
function parsed(text) {
  return text === undefined ? null : JSON.parse(text);
}

/** A validation issue as one line, e.g. `mappings[2] (group "x"): fcRole: must be ...`. */
export function issueText(issue) {
  let text = '';
  if (issue.entry !== undefined) {
    text += `mappings[${issue.entry}]`;
    if (issue.group !== undefined) {
      text += ` (group ${JSON.stringify(issue.group)})`;
    }
    text += ': ';
  }
  if (issue.field !== undefined) {
    text += `${issue.field}: `;
  }
  return text + issue.message;
}
