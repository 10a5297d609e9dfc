//! The benchmark's table: each figure's median over its runs, its latency quantiles, and its
//! ratio to the matching baseline figure.

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
             | measurement | engine | connections | median | p50 ms | p99 ms | ratio to baseline | failed |\n\
             |---|---|---|---|---|---|---|---|\n",
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
            let shown = if value >= 100.0 {
                format!("{value:.0}")
            } else {
                format!("{value:.1}")
            };
            out.push_str(&format!(
                "| {} | {} | {} | {shown} {} | {} | {} | {ratio} | {} |\n",
                r.what,
                r.engine,
                r.connections,
                r.unit,
                ms(&r.figure.p50),
                ms(&r.figure.p99),
                r.figure.failed,
            ));
            if let Some(e) = &r.figure.first_error {
                let e: String = e.chars().take(160).collect();
                out.push_str(&format!("|  | first failure: {e} |||||||\n"));
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
