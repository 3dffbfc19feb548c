//! The Model Context Protocol server (`tenant-sync mcp`): `tools` says what the tools are and
//! reads their arguments, `answers` turns a run's outcome into a tool result, and `server`
//! runs each call against the prepared session; `http` serves it over streamable HTTP.

mod answers;
pub mod http;
mod server;
pub mod tools;

pub use server::{Calls, Server};
