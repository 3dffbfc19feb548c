//! Fake 1Password Connect and Authentik servers on 127.0.0.1 ephemeral ports, faithful to the
//! real APIs' documents, recording every request. Used by the component tests and `tenant-sync
//! demo`.

pub mod authentik;
pub mod demo;
pub mod latency;
pub mod onepassword;
pub mod server;
#[cfg(feature = "tls")]
pub mod tls;

pub use authentik::{FakeAuthentik, PagingFault};
pub use onepassword::{Content, FakeOnePassword};
pub use server::Fault;
