pub mod clerk;
pub mod vapi;
