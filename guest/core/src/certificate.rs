//! What is said about a server certificate the run does not trust: the hosts' one Error event
//! (its template, the reason, the advice) and the component's failure message, which sees just
//! `TLS-certificate-error` and so names how each host is told to trust a private CA (`Host`).

/// Why a certificate is not trusted, as far as a person needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    UnknownIssuer,
    Expired,
    NotValidYet,
    WrongName,
    Revoked,
    BadSignature,
}

impl Problem {
    /// Every problem, by the name the hosts' contract file uses.
    pub const ALL: [(&str, Problem); 6] = [
        ("unknownIssuer", Problem::UnknownIssuer),
        ("expired", Problem::Expired),
        ("notValidYet", Problem::NotValidYet),
        ("wrongName", Problem::WrongName),
        ("revoked", Problem::Revoked),
        ("badSignature", Problem::BadSignature),
    ];

    pub fn reason(self) -> &'static str {
        match self {
            Problem::UnknownIssuer => {
                "unknown issuer: no certificate authority this run trusts signed it"
            }
            Problem::Expired => "it has expired",
            Problem::NotValidYet => "it is not valid yet (check the clocks)",
            Problem::WrongName => "wrong name: it is not valid for this host name",
            Problem::Revoked => "it has been revoked",
            Problem::BadSignature => "its signature is invalid",
        }
    }
}

/// The Error event's message template; its properties are `Authority`, `Reason`, `Advice`.
pub const EVENT: &str = "The TLS certificate of {Authority} is not trusted: {Reason}. {Advice}";

/// How a host is told to trust a private CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// The tenant-sync binary.
    Wasmtime,
    /// `hosts/node`.
    Node,
}

impl Host {
    /// The flag or variable that adds a CA.
    pub fn setting(self) -> &'static str {
        match self {
            Host::Wasmtime => "--ca-file PATH",
            Host::Node => "NODE_EXTRA_CA_CERTS",
        }
    }
}

/// What to do about a certificate the run does not trust, on `host`.
pub fn advice(host: Host) -> String {
    let how = match host {
        Host::Wasmtime => format!(
            "pass that CA's certificate with {} (PEM, repeatable) or set SSL_CERT_FILE",
            host.setting()
        ),
        Host::Node => format!("point {} at that CA's certificate (PEM)", host.setting()),
    };
    format!(
        "If it comes from a private CA (a cluster's own, say), {how}; verification cannot be turned off"
    )
}

/// What the component says when a request ends with `TLS-certificate-error`; the host's Error
/// event before it says which problem it was.
pub fn component_message(at: &str) -> String {
    format!(
        "the TLS certificate of {at} is not trusted (the host's log says why: unknown issuer, expired or wrong name). \
         If it comes from a private CA, make the host trust that CA (tenant-sync: {}; Node: {})",
        Host::Wasmtime.setting(),
        Host::Node.setting()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_host_is_told_its_own_way_to_trust_a_ca() {
        assert!(advice(Host::Wasmtime).contains("--ca-file PATH (PEM, repeatable)"));
        assert!(advice(Host::Node).contains("NODE_EXTRA_CA_CERTS"));
        let message = component_message("a:1");
        assert!(message.contains("--ca-file PATH") && message.contains("NODE_EXTRA_CA_CERTS"));
    }
}
