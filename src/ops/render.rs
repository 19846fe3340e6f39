//! `assist tree` without `--json`: the tree as an operator reads it in a terminal.

use std::fmt::Write;

use super::tree::{NodeReport, Tree};

impl Tree {
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.nodes.is_empty() {
            let _ = writeln!(out, "no node answered within {} ms and none is registered", self.deadline_ms);
        }
        for node in &self.nodes {
            render_node(&mut out, node);
        }
        out
    }
}

fn render_node(out: &mut String, report: &NodeReport) {
    let Some(tree) = &report.tree else {
        let why = report.error.as_deref().unwrap_or("");
        let _ = writeln!(out, "node {}  {}  {why}", report.node, report.status.to_uppercase());
        return;
    };
    let _ = writeln!(
        out,
        "node {}  {}  v{}  up {}",
        report.node,
        report.status,
        tree.version,
        ms(tree.uptime_ms)
    );
    let _ = writeln!(out, "└─ root  {}", tree.root.status);
    let held: Vec<String> = tree.partitions.held.iter().map(|lease| lease.partition.to_string()).collect();
    let _ = writeln!(
        out,
        "   ├─ partitions  {} of {} held: {}",
        held.len(),
        tree.partitions.count,
        if held.is_empty() { "none".to_owned() } else { held.join(" ") }
    );
    let orgs = &tree.tenants.orgs;
    let _ = writeln!(out, "   ├─ tenants  {}  ({} org actors)", tree.tenants.status, orgs.len());
    for (i, org) in orgs.iter().enumerate() {
        let branch = if i + 1 == orgs.len() { "└─" } else { "├─" };
        let mut line = format!("   │  {branch} org:{}  {}", org.org, org.status);
        if let Some(mailbox) = org.mailbox {
            let _ = write!(line, "  mailbox {mailbox}");
        }
        if let Some(uptime) = org.uptime_ms {
            let _ = write!(line, "  up {}", ms(uptime));
        }
        if let Some(idle) = org.idle_ms {
            let _ = write!(line, "  last request {} ago", ms(idle));
        }
        let _ = writeln!(out, "{line}  restarts {}", org.restarts);
    }
    let ingest = &tree.system_ingest;
    let e = &ingest.events;
    let _ = writeln!(
        out,
        "   └─ system-ingest  {}  restarts {}  events: received {}, applied {}, duplicated {}, unknown {}, retried {}, dead-lettered {}",
        ingest.status,
        ingest.restarts,
        e.received,
        e.applied,
        e.duplicates,
        e.unknown,
        e.retried,
        e.dead_lettered
    );
}

/// `340ms`, `12s`, `5m10s`, `1h02m`.
fn ms(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0 => format!("{ms}ms"),
        1..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::NodeId;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(ms(340), "340ms");
        assert_eq!(ms(12_000), "12s");
        assert_eq!(ms(310_000), "5m10s");
        assert_eq!(ms(3_720_000), "1h02m");
    }

    #[test]
    fn a_silent_node_is_named() {
        let silent = NodeReport {
            node: NodeId::parse("web-2").unwrap(),
            status: "no_answer".into(),
            error: Some("no answer within 2000 ms".into()),
            tree: None,
        };
        let text = Tree { deadline_ms: 2000, nodes: vec![silent] }.render();
        assert_eq!(text, "node web-2  NO_ANSWER  no answer within 2000 ms\n");
    }
}
