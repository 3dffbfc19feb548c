//! The WebAssembly edge: WIT bindings, the export implementations and the I/O the pure core
//! needs (HTTP over wasi:http, environment, stderr logging, clocks).

mod authentik;
mod cli_run;
mod config;
mod convert;
mod events;
mod failure;
mod http;
mod log;
mod onepassword;
mod queue;
mod redact;
mod render;
mod stream;
mod sync;

wit_bindgen::generate!({
    path: "../wit",
    world: "tenant-sync",
    // One definition of each WASI type: the `wasi` crate's.
    with: {
        "wasi:http/types@0.2.12": wasi::http::types,
        "wasi:http/outgoing-handler@0.2.12": wasi::http::outgoing_handler,
        "wasi:io/error@0.2.12": wasi::io::error,
        "wasi:io/poll@0.2.12": wasi::io::poll,
        "wasi:io/streams@0.2.12": wasi::io::streams,
        "wasi:clocks/monotonic-clock@0.2.12": wasi::clocks::monotonic_clock,
        "wasi:clocks/wall-clock@0.2.12": wasi::clocks::wall_clock,
        "wasi:cli/environment@0.2.12": wasi::cli::environment,
        "wasi:cli/stdout@0.2.12": wasi::cli::stdout,
        "wasi:cli/stderr@0.2.12": wasi::cli::stderr,
        "wasi:random/insecure@0.2.12": wasi::random::insecure,
    },
    generate_all,
});

use exports::flowercore::tenant_sync::{mapping, render as render_export, sync as sync_export};
use flowercore::tenant_sync::types as wit;
use tenant_sync_core::outcome::{Failure, Outcome};

struct Component;

impl mapping::Guest for Component {
    fn validate(document: String) -> Result<wit::DesiredState, Vec<wit::ValidationIssue>> {
        tenant_sync_core::mapping::validate(&document)
            .map(convert::desired_state)
            .map_err(convert::issues)
    }
}

impl sync_export::Guest for Component {
    fn run(options: wit::SyncOptions) -> Result<wit::Report, wit::SyncError> {
        sync::run(options)
    }

    fn run_printed(options: wit::SyncOptions) -> wit::Printed {
        render::run_printed(&options)
    }
}

impl render_export::Guest for Component {
    fn failure(kind: render_export::FailureKind, message: String) -> wit::Printed {
        let failure = Failure::new(render::failure_kind(kind), message);
        render::printed(Outcome::Failed(failure))
    }

    fn clef_event(
        level: render_export::Level,
        template: String,
        properties: String,
    ) -> Result<String, String> {
        render::clef_event(level, &template, &properties)
    }
}

impl exports::wasi::cli::run::Guest for Component {
    fn run() -> Result<(), ()> {
        cli_run::run()
    }
}

export!(Component);
