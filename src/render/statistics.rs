//! `--statistics`: how many findings each rule has, most first (like `ruff --statistics`): a table,
//! or with `--format json` the same rows as JSON for scripts and dashboards.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::engine::Report;

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let rows = rows(report);
    let count_width = rows.first().map_or(1, |row| row.count.to_string().len());
    let id_width = rows.iter().map(|row| row.rule.len()).max().unwrap_or(0);
    for row in &rows {
        let fixable = if row.fixable { "[*]" } else { "[ ]" };
        writeln!(out, "{:>count_width$}  {:<id_width$}  {fixable}", row.count, row.rule)?;
    }
    Ok(())
}

/// `[{"rule": "spawn-without-join", "count": 3, "fixable": false}, ..]`, in the table's order.
pub fn render_json(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let rows: Vec<serde_json::Value> = rows(report)
        .iter()
        .map(|row| serde_json::json!({ "rule": row.rule, "count": row.count, "fixable": row.fixable }))
        .collect();
    serde_json::to_writer_pretty(&mut *out, &rows)?;
    writeln!(out)
}

struct Row<'a> {
    rule: &'a str,
    count: usize,
    /// At least one of the findings carries a fix.
    fixable: bool,
}

/// One row per rule with findings, by count (most first), then id.
fn rows(report: &Report) -> Vec<Row<'_>> {
    let mut by_rule: BTreeMap<&str, Row> = BTreeMap::new();
    for d in report.files.iter().flat_map(|f| &f.diagnostics) {
        let row = by_rule.entry(d.rule).or_insert(Row { rule: d.rule, count: 0, fixable: false });
        row.count += 1;
        row.fixable |= d.fix.is_some();
    }
    let mut rows: Vec<Row> = by_rule.into_values().collect();
    // Stable: ties keep the id order of the map.
    rows.sort_by_key(|row| std::cmp::Reverse(row.count));
    rows
}
