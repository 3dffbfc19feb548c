//! The pure core: mapping → desired state → plan → report, plus the decoders for what the two
//! services answer. No I/O here, so all of it is tested (and fuzzed) natively.

pub mod ancestry;
pub mod authentik;
pub mod certificate;
pub mod clef;
pub mod create;
pub mod defaults;
pub mod endpoint;
pub mod group;
pub mod lookalike;
pub mod managed;
pub mod mapping;
pub mod mapping_schema;
pub mod metrics;
pub mod onepassword;
pub mod outcome;
pub mod plan;
pub mod report;
pub mod report_schema;
pub mod retry;
pub mod secrets;
pub mod selection;
pub mod untrusted;
pub mod usage;
pub mod verify;
