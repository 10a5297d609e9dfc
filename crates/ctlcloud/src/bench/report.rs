//! The benchmark's table: each figure's median over its runs with the lowest and highest run, its
//! latency quantiles, and its ratio to the matching baseline figure.

use super::load::Run;
use super::Settings;

/// One figure's runs: the value of each run (requests/s, ms, …) and its latency quantiles.
#[derive(Default, Clone)]
pub struct Figure {
    values: Vec<f64>,
    p50: Vec<f64>,
    p99: Vec<f64>,
    failed: u64,
    first_error: Option<String>,
}

impl Figure {
    /// A figure measured once.
    pub fn single(value: f64) -> Figure {
        let mut f = Figure::default();
        f.value(value);
        f
    }

    /// Adds a run of requests whose figure is `value`.
    pub fn record(&mut self, run: &mut Run, value: f64) {
        self.values.push(value);
        self.p50.push(run.quantile_ms(0.5));
        self.p99.push(run.quantile_ms(0.99));
        self.failed += run.failed;
        if self.first_error.is_none() {
            self.first_error = run.first_error.take();
        }
    }

    /// Adds a run with no latencies (a duration, a size).
    pub fn value(&mut self, value: f64) {
        self.values.push(value);
    }

    pub fn median(&self) -> f64 {
        median(&self.values)
    }

    /// The lowest and highest run, if there was more than one: this machine's figures move from
    /// run to run, and a median alone hides by how much.
    fn range(&self) -> Option<(f64, f64)> {
        let runs: Vec<f64> = self
            .values
            .iter()
            .copied()
            .filter(|x| !x.is_nan())
            .collect();
        if runs.len() < 2 {
            return None;
        }
        let low = runs.iter().copied().fold(f64::INFINITY, f64::min);
        let high = runs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some((low, high))
    }
}

/// A figure as the table shows it: whole numbers from 100 up, one decimal below.
fn shown(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

struct Row {
    what: String,
    engine: &'static str,
    connections: String,
    figure: Figure,
    unit: &'static str,
    /// The baseline figure this row is divided by.
    baseline: Option<f64>,
}

/// The rows, in the order they were measured.
#[derive(Default)]
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    pub fn add(
        &mut self,
        what: &str,
        engine: &'static str,
        connections: &str,
        figure: Figure,
        unit: &'static str,
        baseline: Option<f64>,
    ) {
        self.rows.push(Row {
            what: what.to_owned(),
            engine,
            connections: connections.to_owned(),
            figure,
            unit,
            baseline,
        });
    }

    /// The table as markdown, under a line saying how it was measured.
    pub fn render(&self, s: &Settings) -> String {
        let mut out = format!(
            "\nctlcloud bench: medians of {} runs of {:.1} s (at most {} requests each); \
             ratio = median / the baseline's median\n\n\
             | measurement | engine | connections | median | runs | p50 ms | p99 ms | ratio to baseline | failed |\n\
             |---|---|---|---|---|---|---|---|---|\n",
            s.runs,
            s.duration.as_secs_f64(),
            s.max_requests
        );
        let ms = |v: &[f64]| match median(v) {
            m if m.is_nan() => "-".to_owned(),
            m => format!("{m:.2}"),
        };
        for r in &self.rows {
            let value = r.figure.median();
            let ratio = match r.baseline {
                Some(b) if b > 0.0 && !value.is_nan() => format!("{:.2}", value / b),
                _ => "-".into(),
            };
            let runs = match r.figure.range() {
                Some((low, high)) => format!("{}–{}", shown(low), shown(high)),
                None => "-".into(),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} {} | {runs} | {} | {} | {ratio} | {} |\n",
                r.what,
                r.engine,
                r.connections,
                shown(value),
                r.unit,
                ms(&r.figure.p50),
                ms(&r.figure.p99),
                r.figure.failed,
            ));
            if let Some(e) = &r.figure.first_error {
                let e: String = e.chars().take(160).collect();
                out.push_str(&format!("|  | first failure: {e} ||||||||\n"));
            }
        }
        out
    }
}

/// 1000000 as 1,000,000.
pub fn thousands(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_shows_the_median_and_the_range_of_its_runs() {
        let mut figure = Figure::default();
        for v in [9_000.4, 12_000.0, 10_500.0] {
            figure.value(v);
        }
        let mut table = Table::default();
        table.add("GETs", "sqlite", "64", figure, "req/s", Some(21_000.0));
        table.add(
            "cold start",
            "sqlite",
            "-",
            Figure::single(38.44),
            "ms",
            None,
        );
        let settings = Settings {
            bin: "ctlcloud".into(),
            runs: 3,
            duration: std::time::Duration::from_secs(2),
            max_requests: 1000,
            connections: 64,
        };
        let out = table.render(&settings);
        assert!(
            out.contains("| GETs | sqlite | 64 | 10500 req/s | 9000–12000 | - | - | 0.50 | 0 |"),
            "{out}"
        );
        assert!(
            out.contains("| cold start | sqlite | - | 38.4 ms | - | - | - | - | 0 |"),
            "{out}"
        );
    }
}
