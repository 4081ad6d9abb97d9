//! Figures and `BENCHMARKS.md`: one table per section, SQLite and PostgreSQL side by side,
//! each figure with its ratio to the ceiling measured in the same run where that means
//! something, and PostgreSQL's ratio to SQLite.

use std::fmt::Write;

use crate::node::Backend;

/// One measured figure.
#[derive(Debug, Clone)]
pub struct Figure {
    pub section: String,
    pub name: String,
    pub value: f64,
    pub unit: String,
    /// The ceiling's rate, for figures that are rates of the same load generator.
    pub ceiling: Option<f64>,
    pub note: String,
}

impl Figure {
    pub fn new(section: &str, name: &str, value: f64, unit: &str) -> Figure {
        Figure {
            section: section.into(),
            name: name.into(),
            value,
            unit: unit.into(),
            ceiling: None,
            note: String::new(),
        }
    }

    pub fn vs_ceiling(mut self, ceiling: Option<f64>) -> Figure {
        self.ceiling = ceiling;
        self
    }

    pub fn note(mut self, note: String) -> Figure {
        if !note.trim().is_empty() {
            if !self.note.is_empty() {
                self.note.push_str("; ");
            }
            self.note.push_str(note.trim().trim_end_matches(';').trim());
        }
        self
    }

    fn cell(&self) -> String {
        let value = number(self.value);
        match self.ceiling {
            Some(ceiling) => format!(
                "{value} {} ({:.2}× ceiling)",
                self.unit,
                self.value / ceiling
            ),
            None => format!("{value} {}", self.unit),
        }
    }
}

/// Thousands separated; fractions kept for small figures.
pub fn number(value: f64) -> String {
    if value.is_nan() {
        return "—".into();
    }
    if value.abs() < 100.0 {
        return format!("{value:.1}");
    }
    let digits = format!("{:.0}", value.abs());
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if value < 0.0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// The figures of both backends, as markdown tables.
pub fn tables(results: &[(Backend, Vec<Figure>)]) -> String {
    let mut out = String::new();
    let mut sections: Vec<&str> = Vec::new();
    let mut names: Vec<(&str, &str)> = Vec::new();
    for (_, figures) in results {
        for figure in figures {
            if !sections.contains(&figure.section.as_str()) {
                sections.push(&figure.section);
            }
            if !names.contains(&(&figure.section, &figure.name)) {
                names.push((&figure.section, &figure.name));
            }
        }
    }
    let find = |backend: Backend, section: &str, name: &str| {
        results
            .iter()
            .filter(|(b, _)| *b == backend)
            .flat_map(|(_, figures)| figures)
            .find(|f| f.section == section && f.name == name)
    };
    for section in sections {
        let _ = writeln!(out, "### {section}\n");
        let _ = writeln!(
            out,
            "| scenario | SQLite | PostgreSQL | PostgreSQL ÷ SQLite | notes |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|");
        for (_, name) in names.iter().filter(|(s, _)| *s == section) {
            let sqlite = find(Backend::Sqlite, section, name);
            let postgres = find(Backend::Postgres, section, name);
            let cell = |f: Option<&Figure>| f.map_or("not run".into(), Figure::cell);
            let ratio = match (sqlite, postgres) {
                (Some(s), Some(p)) if s.value > 0.0 && p.value.is_finite() => {
                    format!("{:.2}", p.value / s.value)
                }
                _ => "—".into(),
            };
            let notes: Vec<String> = [("SQLite", sqlite), ("PostgreSQL", postgres)]
                .into_iter()
                .filter_map(|(label, f)| {
                    f.filter(|f| !f.note.is_empty())
                        .map(|f| format!("{label}: {}", f.note.replace('|', "/")))
                })
                .collect();
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {ratio} | {} |",
                cell(sqlite),
                cell(postgres),
                notes.join("<br>")
            );
        }
        out.push('\n');
    }
    out
}
