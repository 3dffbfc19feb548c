// Node reports a server certificate it does not trust as a plain error message, which the WASI
// shim passes on as `internal-error`: the component would retry it and could not say what is
// wrong. These are the messages of Node's (OpenSSL's) certificate checks, mapped to the reasons
// the wasmtime host gives, so the request ends as `TLS-certificate-error` (not retried).

/** What to do about a certificate the run does not trust. */
export const ADVICE =
  "If it comes from a private CA (a cluster's own, say), point NODE_EXTRA_CA_CERTS at that CA's certificate (PEM); verification cannot be turned off";

const REASONS = [
  [
    /unable to verify the first certificate|unable to get (local )?issuer certificate|self[- ]signed certificate/i,
    'unknown issuer: no certificate authority this run trusts signed it',
  ],
  [/certificate has expired/i, 'it has expired'],
  [/certificate is not yet valid/i, 'it is not valid yet (check the clocks)'],
  [/does not match certificate's altnames/i, 'wrong name: it is not valid for this host name'],
  [/certificate revoked/i, 'it has been revoked'],
];

/** The reason a wasi:http error code is a certificate problem, or null when it is not one. */
export function certificateProblem(errorCode) {
  if (errorCode?.tag !== 'internal-error' || typeof errorCode.val !== 'string') {
    return null;
  }
  const match = REASONS.find(([pattern]) => pattern.test(errorCode.val));
  return match ? match[1] : null;
}
