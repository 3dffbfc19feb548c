//! Whether the `wasm32-wasip2` standard library is installed for the toolchain building this
//! crate, and what build.rs does when it is not: add it with rustup (as cargo-component does),
//! or stop at once with the command to run. Shared with build.rs, unit-tested here.

pub const TARGET: &str = "wasm32-wasip2";

#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// The target's standard library is there.
    Ready,
    /// Missing, and rustup can add it: `rustup` with these arguments.
    Install(Vec<String>),
    /// Missing, and nothing here can add it: stop with this message.
    Stop(String),
}

/// `installed`: whether `rustc --print target-libdir --target wasm32-wasip2` names a directory
/// that exists; `rustup`: whether `rustup` runs; `toolchain`: `RUSTUP_TOOLCHAIN`, which rustup
/// sets for the cargo it starts (so the target goes to the toolchain actually building).
pub fn next_step(installed: bool, rustup: bool, toolchain: Option<&str>) -> Step {
    if installed {
        return Step::Ready;
    }
    if !rustup {
        return Step::Stop(format!(
            "the {TARGET} target is not installed for this Rust toolchain, and rustup is not there to add it. \
             Install it (rustup target add {TARGET}, or your distribution's rust-std package for {TARGET}) and build again"
        ));
    }
    let mut args: Vec<String> = ["target", "add", TARGET].map(String::from).to_vec();
    if let Some(toolchain) = toolchain.filter(|t| !t.is_empty()) {
        args.extend(["--toolchain".to_owned(), toolchain.to_owned()]);
    }
    Step::Install(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_installed_target_needs_nothing() {
        assert_eq!(next_step(true, true, Some("stable")), Step::Ready);
        assert_eq!(next_step(true, false, None), Step::Ready);
    }

    #[test]
    fn a_missing_target_is_added_to_the_toolchain_that_builds() {
        assert_eq!(
            next_step(false, true, Some("1.95.0-x86_64-unknown-linux-gnu")),
            Step::Install(
                [
                    "target",
                    "add",
                    "wasm32-wasip2",
                    "--toolchain",
                    "1.95.0-x86_64-unknown-linux-gnu"
                ]
                .map(String::from)
                .to_vec()
            )
        );
        assert_eq!(
            next_step(false, true, None),
            Step::Install(
                ["target", "add", "wasm32-wasip2"]
                    .map(String::from)
                    .to_vec()
            )
        );
    }

    #[test]
    fn without_rustup_the_build_stops_with_the_command() {
        let Step::Stop(message) = next_step(false, false, None) else {
            panic!("must stop")
        };
        assert!(
            message.contains("rustup target add wasm32-wasip2"),
            "{message}"
        );
    }
}
