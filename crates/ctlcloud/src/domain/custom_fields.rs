//! Custom field values on servers and groups, checked against the account's definitions.

use serde_json::Value;

use crate::http::body::Fields;
use crate::http::error::{ApiError, ApiResult};
use crate::model::{CustomFieldDef, CustomFieldValue};

const FIELD: &str = "customFields";

/// Reads `customFields: [{id, value}]` from a request body.
pub fn parse(items: &[&Value]) -> ApiResult<Vec<(String, String)>> {
    items
        .iter()
        .map(|item| {
            let f = Fields::of(item).map_err(|_| {
                ApiError::invalid(FIELD, "Each custom field is an object {id, value}.")
            })?;
            let id = f
                .str("id")?
                .ok_or_else(|| ApiError::invalid(FIELD, "Each custom field needs an id."))?;
            Ok((id, f.str("value")?.unwrap_or_default()))
        })
        .collect()
}

/// Checks values against the definitions: every id defined, values of the field's type, every
/// required field given. Returns the complete list in definition order.
pub fn validate(
    defs: &[CustomFieldDef],
    given: &[(String, String)],
) -> ApiResult<Vec<CustomFieldValue>> {
    for (id, _) in given {
        if !defs.iter().any(|d| d.id.eq_ignore_ascii_case(id)) {
            return Err(ApiError::invalid(
                FIELD,
                format!("The account has no custom field with id {id}."),
            ));
        }
    }
    let mut values = Vec::new();
    for def in defs {
        let value = given
            .iter()
            .rev()
            .find(|(id, _)| def.id.eq_ignore_ascii_case(id))
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        let Some(value) = value else {
            if def.is_required {
                return Err(ApiError::invalid(
                    FIELD,
                    format!("The custom field {} is required.", def.name),
                ));
            }
            continue;
        };
        let value = match def.kind.as_str() {
            "checkbox" => match value.to_ascii_lowercase().as_str() {
                "true" | "false" => value.to_ascii_lowercase(),
                _ => {
                    return Err(ApiError::invalid(
                        FIELD,
                        format!("The custom field {} is true or false.", def.name),
                    ))
                }
            },
            "option" => match def
                .options
                .iter()
                .find(|(_, v)| v.eq_ignore_ascii_case(&value))
            {
                Some((_, v)) => v.clone(),
                None => {
                    return Err(ApiError::invalid(
                        FIELD,
                        format!(
                            "'{value}' is not an option of the custom field {}.",
                            def.name
                        ),
                    ))
                }
            },
            _ => value,
        };
        values.push(CustomFieldValue {
            id: def.id.clone(),
            value,
        });
    }
    Ok(values)
}

/// The text a value shows: an option's name, or the value itself.
pub fn display_value(defs: &[CustomFieldDef], value: &CustomFieldValue) -> (String, String) {
    match defs.iter().find(|d| d.id == value.id) {
        Some(def) => {
            let display = def
                .options
                .iter()
                .find(|(_, v)| *v == value.value)
                .map(|(name, _)| name.clone())
                .unwrap_or_else(|| value.value.clone());
            (def.name.clone(), display)
        }
        None => (value.id.clone(), value.value.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs() -> Vec<CustomFieldDef> {
        vec![
            CustomFieldDef {
                id: "a".into(),
                name: "Owner".into(),
                is_required: true,
                kind: "text".into(),
                options: vec![],
            },
            CustomFieldDef {
                id: "b".into(),
                name: "Backup".into(),
                is_required: false,
                kind: "checkbox".into(),
                options: vec![],
            },
            CustomFieldDef {
                id: "c".into(),
                name: "Tier".into(),
                is_required: false,
                kind: "option".into(),
                options: vec![("Gold".into(), "gold".into())],
            },
        ]
    }

    #[test]
    fn values_are_checked_against_definitions() {
        let ok = validate(
            &defs(),
            &[
                ("A".into(), "me".into()),
                ("b".into(), "True".into()),
                ("c".into(), "GOLD".into()),
            ],
        )
        .unwrap();
        assert_eq!(ok.len(), 3);
        assert_eq!(ok[1].value, "true");
        assert_eq!(ok[2].value, "gold");
        assert_eq!(
            display_value(&defs(), &ok[2]),
            ("Tier".into(), "Gold".into())
        );
        assert!(validate(&defs(), &[]).is_err(), "required field missing");
        assert!(validate(
            &defs(),
            &[("a".into(), "x".into()), ("z".into(), "1".into())]
        )
        .is_err());
        assert!(validate(
            &defs(),
            &[("a".into(), "x".into()), ("b".into(), "maybe".into())]
        )
        .is_err());
        assert!(validate(
            &defs(),
            &[("a".into(), "x".into()), ("c".into(), "silver".into())]
        )
        .is_err());
    }
}
