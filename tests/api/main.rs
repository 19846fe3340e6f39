//! The one integration-test binary: every module starts the real app through `helpers`.

mod actors;
mod auth;
mod bus;
mod clerk_webhooks;
mod conversations;
mod fakes;
mod helpers;
mod isolation;
mod openapi;
mod operations;
mod sessions;
mod settings;
mod shutdown;
mod tree;
mod vapi_client;
mod webhooks;
