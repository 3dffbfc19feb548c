//! Usage errors that every command-line host (the tenant-sync binary, the Node host) words the
//! same way, since they take the same flags.

pub const NO_AUTHENTIK_URL: &str = "no Authentik URL: pass --authentik-url or set AUTHENTIK_URL";

pub const NO_MAPPING_SOURCE: &str = "no mapping source: pass --op-connect-url (or set OP_CONNECT_HOST) to read it from 1Password, or --mapping-file";
