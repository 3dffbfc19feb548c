//! The Model Context Protocol server (`tenant-sync mcp`): `tools` says what the tools are and
//! reads their arguments, `answers` turns a run's outcome into a tool result, and `server`
//! runs each call against the prepared session.

mod answers;
mod server;
pub mod tools;

pub use server::{Calls, Server};
