//! The one integration-test binary: every module starts the real app through `helpers`.

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
mod process;
mod scale_out;
mod openapi;
mod operations;
mod sessions;
mod vapi;
mod vapi_webhooks;
mod settings;
mod shutdown;
mod tree;
mod vapi_client;
mod webhooks;
mod widget;
