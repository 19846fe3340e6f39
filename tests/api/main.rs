//! The one integration-test binary: every module starts the real app through `helpers`.

mod actors;
mod auth;
mod bus;
mod fakes;
mod helpers;
mod settings;
