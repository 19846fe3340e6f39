pub mod clerk;
