//! The `surreal` binary exactly as upstream builds it, with only the in-memory and SurrealKV
//! engines so it builds in minutes rather than an hour (no RocksDB, no TiKV).

use std::process::ExitCode;

fn main() -> ExitCode {
    surrealdb_server::init(surrealdb_server::core::CommunityComposer())
}
