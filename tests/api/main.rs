//! The one integration-test binary: every module starts the real app through `helpers`.

// Some tests arm faults (`src/faults.rs`), which exist only with the feature; without it the
// whole binary refuses to build rather than dropping those tests.
#[cfg(not(feature = "fault-injection"))]
compile_error!(
    "the integration tests need `--features fault-injection`: run ./scripts/test \
     (or cargo test --features fault-injection)"
);

mod actors;
mod agent;
mod agent_upgrade;
mod agent_voice;
mod ai_durability;
mod ai_gateway;
mod ai_keys;
mod auth;
mod browser;
mod bus;
mod clerk_webhooks;
mod cluster;
mod console;
mod conversations;
mod durability;
mod events;
mod fakes;
mod hardening;
mod hardening_connections;
mod hardening_input;
mod helpers;
mod isolation;
mod knowledge;
mod knowledge_tenants;
mod logs;
mod nats_door;
mod openapi;
mod operations;
mod process;
mod scale_out;
mod sessions;
mod settings;
mod shutdown;
mod soak;
mod tree;
mod unknown_orgs;
mod vapi;
mod vapi_client;
mod vapi_webhooks;
mod webhooks;
mod widget;
