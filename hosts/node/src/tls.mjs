// Node reports a server certificate it does not trust as a plain error message, which the WASI
// shim passes on as `internal-error`: the component would retry it and could not say what is
// wrong. These are the messages of Node's (OpenSSL's) certificate checks, mapped to the
// problems the wasmtime host names (their words and the advice come from the contract, that
// is from tenant_sync_core::certificate), so the request ends as `TLS-certificate-error` (not
// retried).

import { CONTRACT } from './contract.mjs';

/** The Error event's template, and what to do about a certificate the run does not trust. */
export const { event: EVENT, advice: ADVICE } = CONTRACT.certificate;

const REASONS = [
  [/unable to verify the first certificate|unable to get (local )?issuer certificate|self[- ]signed certificate/i, 'unknownIssuer'],
  [/certificate has expired/i, 'expired'],
  [/certificate is not yet valid/i, 'notValidYet'],
  [/does not match certificate's altnames/i, 'wrongName'],
  [/certificate revoked/i, 'revoked'],
  [/certificate signature failure/i, 'badSignature'],
];

/** The reason a wasi:http error code is a certificate problem, or null when it is not one. */
export function certificateProblem(errorCode) {
  if (errorCode?.tag !== 'internal-error' || typeof errorCode.val !== 'string') {
    return null;
  }
  const match = REASONS.find(([pattern]) => pattern.test(errorCode.val));
  return match ? CONTRACT.certificate.reasons[match[1]] : null;
}
