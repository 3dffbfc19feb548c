//! `tenant-sync validate`: a mapping file checked offline by the component.

use super::args::ValidateArgs;
use super::mapping_file::{self, ReadError};
use super::usage;
use crate::convert;
use crate::logging::LogSink;
use crate::outcome::{Exit, report_outcome};
use crate::output;
use crate::sandbox::Grants;
use crate::stdout;
use tenant_sync_core::outcome::{self, Failure, Outcome};

pub async fn validate(args: ValidateArgs, log: &LogSink) -> Exit {
    let document = match mapping_file::read(&args.path) {
        Ok(text) => text,
        Err(ReadError::Unreadable(message)) => return usage(log, message),
        Err(ReadError::NotText(message)) => {
            return mapping_file::not_text(log, &message, args.output);
        }
    };
    let runtime = match args.component.load(log) {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let grants = Grants {
        log: log.clone(),
        ..Grants::default()
    };
    match runtime.validate(&document, &grants).await {
        Ok(Ok(state)) => {
            stdout::print(&output::desired_state(&state, args.output), log);
            Exit::Success
        }
        Ok(Err(issues)) => {
            let issues: Vec<_> = issues.iter().map(convert::issue).collect();
            let failure = Failure {
                message: format!(
                    "{} is not a valid mapping ({} problems)",
                    args.path.display(),
                    outcome::problem_count(&issues)
                ),
                ..Failure::invalid_mapping(issues)
            };
            let outcome = Outcome::Failed(failure);
            stdout::print(&outcome.printed(args.output.into()), log);
            outcome.exit()
        }
        Err(failure) => report_outcome(Err(failure), args.output, log),
    }
}
