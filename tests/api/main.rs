//! The one integration-test binary: every module starts the real app through `helpers`.

// Some tests arm faults (`src/faults.rs`), which exist only with the feature; without it the
// whole binary refuses to build rather than dropping those tests.
#[cfg(not(feature = "fault-injection"))]
compile_error!(
    "the integration tests need `--features fault-injection`: run ./scripts/test \
     (or cargo test --features fault-injection)"
);

mod actors;
mod auth;
mod browser;
mod bus;
mod clerk_webhooks;
mod cluster;
mod conversations;
mod durability;
mod events;
mod fakes;
mod hardening;
mod helpers;
mod isolation;
mod logs;
mod openapi;
mod operations;
mod process;
mod scale_out;
mod sessions;
mod settings;
mod shutdown;
mod tree;
mod vapi;
mod vapi_client;
mod vapi_webhooks;
mod webhooks;
mod widget;
