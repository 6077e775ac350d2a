//! Running the suite and printing its table.

use std::fmt::Write as _;
use std::sync::Arc;

use crate::clients::Adapter;
use crate::scenarios::{self, short, Group, Scenario, Verdict};

/// One scenario's verdicts, one per client.
#[derive(Clone, Debug)]
pub struct Row {
    /// The scenario's group.
    pub group: Group,
    /// The scenario's name.
    pub name: &'static str,
    /// What "pass" means for it.
    pub pass: String,
    /// The verdicts, in the order of [`Table::clients`].
    pub verdicts: Vec<Verdict>,
}

/// A client as the table names it.
#[derive(Clone, Debug)]
pub struct Column {
    /// The crate.
    pub name: &'static str,
    /// The versions built.
    pub version: String,
    /// How the scenario's setup maps to its options.
    pub configuration: &'static str,
}

/// The suite's results: scenarios × clients.
#[derive(Clone, Debug)]
pub struct Table {
    /// The clients, one column each.
    pub clients: Vec<Column>,
    /// The scenarios, one row each.
    pub rows: Vec<Row>,
}

/// Runs every scenario against every client, one run after the other, each against
/// its own server: a run's timings are not disturbed by another run (a client that
/// parses slowly would otherwise take the CPU from the others' servers).
pub async fn run_suite(clients: &[Arc<dyn Adapter>], scenarios: &[Scenario]) -> Table {
    let mut rows = Vec::with_capacity(scenarios.len());
    for scenario in scenarios {
        let mut verdicts = Vec::with_capacity(clients.len());
        for client in clients {
            verdicts.push(scenarios::run(client.clone(), scenario.clone()).await);
        }
        rows.push(Row {
            group: scenario.group,
            name: scenario.name,
            pass: scenario.pass.clone(),
            verdicts,
        });
    }
    Table {
        clients: clients
            .iter()
            .map(|client| Column {
                name: client.name(),
                version: client.version(),
                configuration: client.configuration(),
            })
            .collect(),
        rows,
    }
}

impl Table {
    /// The table in Markdown: a group and a scenario column, then one column per
    /// client with `✓`, `✗ reason` or `n/a (reason)`, and a last row with the counts
    /// of passes.
    #[must_use]
    pub fn markdown(&self) -> String {
        let mut out = String::from("| group | scenario |");
        for client in &self.clients {
            let _ = write!(out, " {} |", client.name);
        }
        out.push_str("\n|---|---|");
        for _ in &self.clients {
            out.push_str("---|");
        }
        out.push('\n');
        for row in &self.rows {
            let _ = write!(out, "| {} | {} |", row.group, short(row.name, 60));
            for verdict in &row.verdicts {
                let cell = match verdict {
                    Verdict::Pass => String::from("✓"),
                    Verdict::Fail(reason) => format!("✗ {}", short(reason, 110)),
                    Verdict::NotApplicable(reason) => format!("n/a ({})", short(reason, 60)),
                };
                let _ = write!(out, " {cell} |");
            }
            out.push('\n');
        }
        out.push_str("| | **passed** |");
        for column in 0..self.clients.len() {
            let passed = self
                .rows
                .iter()
                .filter(|row| row.verdicts.get(column).is_some_and(Verdict::passed))
                .count();
            let _ = write!(out, " **{passed} / {}** |", self.rows.len());
        }
        out.push('\n');
        out
    }

    /// The versions tested, one Markdown list item per client.
    #[must_use]
    pub fn versions(&self) -> String {
        self.clients
            .iter()
            .map(|client| format!("- `{}` {}\n", client.name, client.version))
            .collect()
    }

    /// How each client is set up, one Markdown list item per client.
    #[must_use]
    pub fn configurations(&self) -> String {
        self.clients
            .iter()
            .map(|client| format!("- `{}`: {}\n", client.name, client.configuration))
            .collect()
    }

    /// What "pass" means for each scenario, one Markdown list item each.
    #[must_use]
    pub fn legend(&self) -> String {
        self.rows
            .iter()
            .map(|row| format!("- **{}** ({}): {}.\n", row.name, row.group, row.pass))
            .collect()
    }

    /// The rows where the client in `column` did not pass, with the verdict.
    #[must_use]
    pub fn failures(&self, column: usize) -> Vec<(&'static str, &Verdict)> {
        self.rows
            .iter()
            .filter_map(|row| {
                let verdict = row.verdicts.get(column)?;
                (!verdict.passed()).then_some((row.name, verdict))
            })
            .collect()
    }
}
