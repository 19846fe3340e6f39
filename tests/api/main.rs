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
