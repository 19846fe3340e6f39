//! `BENCH_MEMORY_LIMIT`: assist (and the nats-server it starts) run in a memory cgroup of their
//! own, seen from inside as a container sees its limit. SurrealKV sizes its memtable and block
//! cache from the memory it can see (the machine's, or the cgroup limit at
//! `/sys/fs/cgroup/...`), and the embedded SDK offers no other way to set them, so a run on a
//! large machine measures caches sized for that machine. Needs root and a writable cgroup
//! hierarchy (v1 or v2); `unshare` gives the process a mount namespace in which its own cgroup
//! is bind-mounted where the root one was.

use super::*;

pub(crate) struct MemoryLimit {
    bytes: u64,
    group: PathBuf,
    /// Where the controller is mounted: the group is bind-mounted over it for assist.
    mount: &'static str,
}

impl MemoryLimit {
    /// Reads `BENCH_MEMORY_LIMIT` (bytes, or with a `K`, `M` or `G` suffix); `None` when unset.
    pub(crate) fn from_env() -> Option<MemoryLimit> {
        let raw = std::env::var("BENCH_MEMORY_LIMIT").ok().filter(|v| !v.is_empty())?;
        let bytes = parse_bytes(&raw).unwrap_or_else(|| panic!("BENCH_MEMORY_LIMIT: not a size: {raw:?}"));
        let name = format!("assist-bench-{}", std::process::id());
        let (group, mount, file) = if Path::new("/sys/fs/cgroup/memory/cgroup.procs").exists() {
            (Path::new("/sys/fs/cgroup/memory").join(name), "/sys/fs/cgroup/memory", "memory.limit_in_bytes")
        } else if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
            (Path::new("/sys/fs/cgroup").join(name), "/sys/fs/cgroup", "memory.max")
        } else {
            panic!("BENCH_MEMORY_LIMIT: no cgroup memory controller under /sys/fs/cgroup");
        };
        std::fs::create_dir(&group).unwrap_or_else(|e| panic!("BENCH_MEMORY_LIMIT: create {group:?}: {e}"));
        std::fs::write(group.join(file), bytes.to_string())
            .unwrap_or_else(|e| panic!("BENCH_MEMORY_LIMIT: set {file}: {e}"));
        Some(MemoryLimit { bytes, group, mount })
    }

    /// The same command, started inside the group (the pid stays the command's own: `unshare`
    /// and `sh` exec into it).
    pub(crate) fn wrap(&self, cmd: &Command) -> Command {
        let script = format!(
            "echo $$ > {group}/cgroup.procs && mount --bind {group} {mount} && exec \"$0\" \"$@\"",
            group = self.group.display(),
            mount = self.mount
        );
        let mut wrapped = Command::new("unshare");
        wrapped.args(["--mount", "--propagation", "private", "--", "sh", "-c", &script]);
        wrapped.arg(cmd.get_program()).args(cmd.get_args());
        for (key, value) in cmd.get_envs() {
            match value {
                Some(value) => wrapped.env(key, value),
                None => wrapped.env_remove(key),
            };
        }
        wrapped
    }

    /// The group's peak usage (resident and page cache), as the kernel counts it against the limit.
    pub(crate) fn peak(&self) -> Option<u64> {
        ["memory.max_usage_in_bytes", "memory.peak"]
            .iter()
            .find_map(|file| std::fs::read_to_string(self.group.join(file)).ok()?.trim().parse().ok())
    }

    pub(crate) fn describe(&self) -> String {
        format!("assist and its nats-server in a {:.0} MiB memory cgroup", self.bytes as f64 / 1048576.0)
    }
}

impl Drop for MemoryLimit {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.group);
    }
}

fn parse_bytes(raw: &str) -> Option<u64> {
    let raw = raw.trim();
    let (digits, unit) = match raw.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => raw.split_at(at),
        None => (raw, ""),
    };
    let shift = match unit.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        _ => return None,
    };
    digits.parse::<u64>().ok().map(|n| n << shift)
}
