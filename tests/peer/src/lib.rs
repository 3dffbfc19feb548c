//! The real Authentik as a test peer (`../shared/authentik/`): one server shared by the test
//! processes, a client that controls request framing on the wire, and what tests do to the
//! server directly (seed, read back, clean up). The real server is the judge: the fakes are held
//! to it by the differential test, and the product is run against it.

pub mod admin;
pub mod faults;
pub mod relay;
pub mod server;
pub mod wire;

pub use admin::Scratch;
pub use faults::Exclusive;
pub use relay::Relay;
pub use server::{Peer, authentik};
pub use wire::{Answer, Framing};
