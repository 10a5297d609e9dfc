//! Alert policies: what a valid policy is. A policy mails its recipients when a server's cpu,
//! memory or disk use stays above a threshold (5 to 95 percent, in steps of 5) for 5, 10 or 15
//! minutes.

use serde_json::{json, Value};

use crate::http::body::Fields;
use crate::http::error::{ApiError, ApiResult};

const DURATIONS: [&str; 3] = ["00:05:00", "00:10:00", "00:15:00"];
const METRICS: [&str; 3] = ["cpu", "memory", "disk"];

/// A policy as a request gives it, checked: its name, actions and triggers in the API's shapes.
#[derive(Debug, PartialEq)]
pub struct Policy {
    pub name: String,
    pub actions: Value,
    pub triggers: Value,
}

/// Reads and checks a create or update body: `{name, actions: [{action: "email", settings:
/// {recipients: [...]}}], triggers: [{metric, duration, threshold}]}`, all three required.
pub fn parse(body: &Value) -> ApiResult<Policy> {
    let fields = Fields::of(body)?;
    let name = fields.required_str("name")?;
    if name.chars().count() > 200 {
        return Err(ApiError::invalid(
            "name",
            "A policy name has at most 200 characters.",
        ));
    }
    let actions = fields
        .list("actions")
        .into_iter()
        .map(action)
        .collect::<ApiResult<Vec<_>>>()?;
    if actions.is_empty() {
        return Err(ApiError::invalid(
            "actions",
            "A policy has at least one action.",
        ));
    }
    let triggers = fields
        .list("triggers")
        .into_iter()
        .map(trigger)
        .collect::<ApiResult<Vec<_>>>()?;
    if triggers.is_empty() {
        return Err(ApiError::invalid(
            "triggers",
            "A policy has at least one trigger.",
        ));
    }
    Ok(Policy {
        name,
        actions: Value::Array(actions),
        triggers: Value::Array(triggers),
    })
}

fn action(value: &Value) -> ApiResult<Value> {
    let bad = |m: &str| ApiError::invalid("actions", m.to_owned());
    let f = Fields::of(value).map_err(|_| bad("Each action is an object {action, settings}."))?;
    match f.str("action")?.map(|a| a.to_ascii_lowercase()).as_deref() {
        Some("email") => {}
        _ => return Err(bad("The only action is email.")),
    }
    let settings = f
        .get("settings")
        .ok_or_else(|| bad("An email action needs settings {recipients}."))?;
    let settings = Fields::of(settings).map_err(|_| bad("settings is an object {recipients}."))?;
    let recipients = settings
        .list("recipients")
        .into_iter()
        .map(|r| r.as_str().map(|s| Value::String(s.trim().to_owned())))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad("recipients are email addresses."))?;
    if recipients.is_empty() {
        return Err(bad("An email action has at least one recipient."));
    }
    Ok(json!({"action": "email", "settings": {"recipients": recipients}}))
}

fn trigger(value: &Value) -> ApiResult<Value> {
    let bad = |m: String| ApiError::invalid("triggers", m);
    let f = Fields::of(value)
        .map_err(|_| bad("Each trigger is an object {metric, duration, threshold}.".into()))?;
    let metric = f.str("metric")?.unwrap_or_default().to_ascii_lowercase();
    if !METRICS.contains(&metric.as_str()) {
        return Err(bad(format!(
            "A trigger's metric is cpu, memory or disk, not '{metric}'."
        )));
    }
    let duration = f.str("duration")?.unwrap_or_default();
    if !DURATIONS.contains(&duration.as_str()) {
        return Err(bad(format!(
            "A trigger's duration is 00:05:00, 00:10:00 or 00:15:00, not '{duration}'."
        )));
    }
    let threshold = match f.get("threshold") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|t| (5.0..=95.0).contains(t) && (t % 5.0) == 0.0)
    .ok_or_else(|| {
        bad("A trigger's threshold is a percentage from 5 to 95 in steps of 5.".into())
    })?;
    // Whole thresholds stay whole on the wire, as clients sent them.
    let threshold = if threshold.fract() == 0.0 {
        json!(threshold as i64)
    } else {
        json!(threshold)
    };
    Ok(json!({"metric": metric, "duration": duration, "threshold": threshold}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docs_example_is_valid_and_echoed() {
        let body = json!({"name": "Disk Above 80%", "actions": [{"action": "email", "settings": {"recipients": ["ops@example.com"]}}],
                          "triggers": [{"duration": "00:05:00", "metric": "disk", "threshold": 80}]});
        let p = parse(&body).unwrap();
        assert_eq!(p.name, "Disk Above 80%");
        assert_eq!(
            p.triggers,
            json!([{"metric": "disk", "duration": "00:05:00", "threshold": 80}])
        );
        assert_eq!(
            p.actions,
            json!([{"action": "email", "settings": {"recipients": ["ops@example.com"]}}])
        );
    }

    #[test]
    fn bad_policies_name_the_field() {
        let good = json!({"name": "n", "actions": [{"action": "email", "settings": {"recipients": ["a@b"]}}],
                          "triggers": [{"duration": "00:05:00", "metric": "cpu", "threshold": "90"}]});
        assert!(parse(&good).is_ok());
        for (key, value, field) in [
            ("name", Value::Null, "name"),
            ("actions", json!([]), "actions"),
            (
                "actions",
                json!([{"action": "sms", "settings": {"recipients": ["a@b"]}}]),
                "actions",
            ),
            (
                "actions",
                json!([{"action": "email", "settings": {"recipients": []}}]),
                "actions",
            ),
            ("triggers", json!([]), "triggers"),
            (
                "triggers",
                json!([{"duration": "00:07:00", "metric": "cpu", "threshold": 90}]),
                "triggers",
            ),
            (
                "triggers",
                json!([{"duration": "00:05:00", "metric": "gpu", "threshold": 90}]),
                "triggers",
            ),
            (
                "triggers",
                json!([{"duration": "00:05:00", "metric": "cpu", "threshold": 92}]),
                "triggers",
            ),
            (
                "triggers",
                json!([{"duration": "00:05:00", "metric": "cpu", "threshold": 100}]),
                "triggers",
            ),
        ] {
            let mut body = good.clone();
            body[key] = value;
            assert_eq!(
                parse(&body).unwrap_err().field.as_deref(),
                Some(field),
                "{key}"
            );
        }
    }
}
