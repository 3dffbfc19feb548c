// The host's own events, as CLEF lines on stderr beside the component's.

/** Writes one CLEF event (`level` Information is CLEF's default and is left out). */
export function logEvent(level, template, properties = {}) {
  const event = { '@t': new Date().toISOString(), '@mt': template };
  if (level !== 'Information') {
    event['@l'] = level;
  }
  process.stderr.write(`${JSON.stringify({ ...event, ...properties })}\n`);
}
