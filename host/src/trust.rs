//! Which TLS servers a run trusts: the system's trust store (with `SSL_CERT_FILE` /
//! `SSL_CERT_DIR` replacing it, as openssl and curl do) plus every `--ca-file` bundle. Host
//! names are always verified and there is no way to turn verification off.

use anyhow::{Context, Result, bail};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{CertificateError, RootCertStore};
use std::path::PathBuf;
use std::sync::Arc;
use tenant_sync_core::certificate::Problem;

/// The certificate authorities a run trusts.
pub fn roots(ca_files: &[PathBuf]) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let asked = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .find(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
    if let (Some(name), Some(error)) = (asked, native.errors.first()) {
        bail!("{name} is set but its certificates cannot be read: {error}");
    }
    // A system store with a few unreadable entries still holds the rest.
    roots.add_parsable_certificates(native.certs);
    for path in ca_files {
        let certificates: Vec<CertificateDer> = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<_, _>>())
            .with_context(|| format!("reading --ca-file {}", path.display()))?;
        if certificates.is_empty() {
            bail!(
                "--ca-file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            );
        }
        for certificate in certificates {
            roots.add(certificate).with_context(|| {
                format!(
                    "--ca-file {}: a certificate is not a usable CA",
                    path.display()
                )
            })?;
        }
    }
    Ok(roots)
}

/// TLS 1.2 and 1.3 with rustls' safe defaults, verifying against `roots`.
pub fn client_config(roots: RootCertStore) -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// Why a certificate was refused, in words.
pub fn describe(problem: &CertificateError) -> String {
    let known = match problem {
        CertificateError::UnknownIssuer => Problem::UnknownIssuer,
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => Problem::Expired,
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            Problem::NotValidYet
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            Problem::WrongName
        }
        CertificateError::Revoked => Problem::Revoked,
        CertificateError::BadSignature => Problem::BadSignature,
        other => return format!("{other:?}"),
    };
    known.reason().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let path = std::env::temp_dir().join(format!("no-certs-{}.pem", std::process::id()));
        std::fs::write(&path, "not a certificate\n").unwrap();
        let error = roots(std::slice::from_ref(&path)).unwrap_err().to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(error.contains("holds no PEM certificate"), "{error}");
    }

    #[test]
    fn a_missing_ca_file_is_named() {
        let path = PathBuf::from("/nonexistent/ca.pem");
        let error = format!("{:#}", roots(&[path]).unwrap_err());
        assert!(
            error.starts_with("reading --ca-file /nonexistent/ca.pem"),
            "{error}"
        );
    }

    #[test]
    fn reasons_read_as_words() {
        assert!(describe(&CertificateError::UnknownIssuer).starts_with("unknown issuer"));
        assert_eq!(describe(&CertificateError::Expired), "it has expired");
        assert!(describe(&CertificateError::NotValidForName).starts_with("wrong name"));
    }
}
