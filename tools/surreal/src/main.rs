//! The `surreal` binary exactly as upstream builds it, with only the in-memory and SurrealKV
//! engines so it builds in minutes rather than an hour (no RocksDB, no TiKV).

// rustc 1.95 cannot lay out SurrealDB's expression future within the default query depth
// ("queries overflow the depth limit!", seen building this binary on 2026-11-26).
#![recursion_limit = "256"]

use std::process::ExitCode;

fn main() -> ExitCode {
    surrealdb_server::init(surrealdb_server::core::CommunityComposer())
}
