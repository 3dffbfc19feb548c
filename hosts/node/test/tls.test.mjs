import assert from 'node:assert/strict';
import { test } from 'node:test';
import { certificateProblem } from '../src/tls.mjs';

test('certificate errors from Node read as the reasons the wasmtime host gives', () => {
  const reason = (text) => certificateProblem({ tag: 'internal-error', val: text });
  assert.match(reason('Error: unable to verify the first certificate'), /^unknown issuer/);
  assert.match(reason('Error: self-signed certificate in certificate chain'), /^unknown issuer/);
  assert.equal(reason('Error: certificate has expired'), 'it has expired');
  assert.match(
    reason("Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames"),
    /^wrong name/,
  );
});

test('other errors are not certificate problems', () => {
  assert.equal(certificateProblem({ tag: 'internal-error', val: 'Error: socket hang up' }), null);
  assert.equal(certificateProblem({ tag: 'connection-refused' }), null);
  assert.equal(certificateProblem(undefined), null);
});
