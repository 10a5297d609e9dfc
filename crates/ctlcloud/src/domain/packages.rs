//! Software packages a new server runs after its build: `[{packageId, parameters: {name: value}}]`.
//! They are checked and recorded with the server.

use serde_json::{Map, Value};

use crate::http::body::Fields;
use crate::http::error::{ApiError, ApiResult};

const FIELD: &str = "packages";

/// A package id is a UUID (`c3c6642e-24e1-4c37-b56a-1cf1476ee360`), dashes optional.
fn is_package_id(id: &str) -> bool {
    let dashes: Vec<usize> = id.match_indices('-').map(|(i, _)| i).collect();
    let hex = id.bytes().filter(|b| *b != b'-');
    let dashes_ok = dashes.is_empty() || (id.len() == 36 && dashes == [8, 13, 18, 23]);
    dashes_ok && hex.clone().count() == 32 && hex.clone().all(|b| b.is_ascii_hexdigit())
}

/// Reads `packages` from a create request and answers them as they are stored: ids lower case,
/// parameter values as text (numbers and booleans are accepted, as with every other field).
pub fn parse(items: &[&Value]) -> ApiResult<Value> {
    let packages = items
        .iter()
        .map(|item| {
            let f = Fields::of(item).map_err(|_| {
                ApiError::invalid(FIELD, "Each package is an object {packageId, parameters}.")
            })?;
            let id = f
                .str("packageId")
                .map_err(|_| ApiError::invalid(FIELD, "packageId must be a string."))?
                .ok_or_else(|| ApiError::invalid(FIELD, "Each package needs a packageId."))?;
            if !is_package_id(&id) {
                return Err(ApiError::invalid(
                    FIELD,
                    format!("'{id}' is not a package id (a UUID such as c3c6642e-24e1-4c37-b56a-1cf1476ee360)."),
                ));
            }
            let parameters = match f.get("parameters") {
                None => Map::new(),
                Some(Value::Object(map)) => map
                    .iter()
                    .map(|(name, value)| parameter(name, value))
                    .collect::<ApiResult<Map<_, _>>>()?,
                Some(_) => {
                    return Err(ApiError::invalid(
                        FIELD,
                        "A package's parameters are an object {name: value}.",
                    ))
                }
            };
            let mut package = Map::new();
            package.insert("packageId".into(), Value::String(id.to_lowercase()));
            package.insert("parameters".into(), Value::Object(parameters));
            Ok(Value::Object(package))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Value::Array(packages))
}

fn parameter(name: &str, value: &Value) -> ApiResult<(String, Value)> {
    if name.trim().is_empty() {
        return Err(ApiError::invalid(
            FIELD,
            "A package parameter needs a name.",
        ));
    }
    let text = match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => {
            return Err(ApiError::invalid(
                FIELD,
                format!("The package parameter {name} must be a string, number or boolean."),
            ))
        }
    };
    Ok((name.to_owned(), Value::String(text)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(v: Value) -> ApiResult<Value> {
        let items: Vec<&Value> = v.as_array().unwrap().iter().collect();
        parse(&items)
    }

    #[test]
    fn packages_are_normalised() {
        let stored = run(json!([
            {"packageId": "C3C6642E-24E1-4C37-B56A-1CF1476EE360", "parameters": {"a": 1, "b": true, "c": "x"}},
            {"packageID": "b229535ca3134a316baf8aa71ff4b9ed"}
        ]))
        .unwrap();
        assert_eq!(
            stored,
            json!([
                {"packageId": "c3c6642e-24e1-4c37-b56a-1cf1476ee360", "parameters": {"a": "1", "b": "true", "c": "x"}},
                {"packageId": "b229535ca3134a316baf8aa71ff4b9ed", "parameters": {}}
            ])
        );
    }

    #[test]
    fn bad_packages_name_the_field() {
        for bad in [
            json!([{"parameters": {}}]),
            json!([{"packageId": "nope"}]),
            json!([{"packageId": "c3c6642e24e1-4c37-b56a-1cf1476ee3601"}]),
            json!([{"packageId": "c3c6642e-24e1-4c37-b56a-1cf1476ee360", "parameters": [1]}]),
            json!([{"packageId": "c3c6642e-24e1-4c37-b56a-1cf1476ee360", "parameters": {"x": [1]}}]),
            json!(["c3c6642e-24e1-4c37-b56a-1cf1476ee360"]),
        ] {
            let e = run(bad.clone()).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("packages"), "{bad}");
        }
    }
}
