//! Custom fields: the definitions an account keeps (made by `ctlcloud admin custom-field`), and
//! the values of servers and groups, checked against them.

use crate::store::Tx;
use serde_json::Value;

use crate::http::body::Fields;
use crate::http::error::{ApiError, ApiResult};
use crate::model::{Account, CustomFieldDef, CustomFieldValue};
use crate::store::accounts;

/// The kinds of custom field.
pub const KINDS: &[&str] = &["text", "checkbox", "option"];

/// What a new definition is made of.
pub struct NewDefinition {
    pub name: String,
    pub kind: String,
    pub required: bool,
    /// `(name shown, value stored)` pairs; only for the `option` kind, which needs at least one.
    pub options: Vec<(String, String)>,
}

/// Adds a custom field definition to an account.
pub async fn define(
    conn: &mut Tx,
    account: &Account,
    new: NewDefinition,
) -> ApiResult<CustomFieldDef> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid(
            "name",
            "A custom field name is 1 to 100 characters.",
        ));
    }
    let kind = new.kind.trim().to_ascii_lowercase();
    if !KINDS.contains(&kind.as_str()) {
        return Err(ApiError::invalid(
            "type",
            format!(
                "A custom field's type is text, checkbox or option, not '{}'.",
                new.kind
            ),
        ));
    }
    let mut options: Vec<(String, String)> = Vec::new();
    for (shown, value) in new.options {
        let (shown, value) = (shown.trim().to_owned(), value.trim().to_owned());
        if shown.is_empty() || value.is_empty() {
            return Err(ApiError::invalid(
                "options",
                "Each option has a name and a value.",
            ));
        }
        // Values are matched in any case, so two may not differ only in case.
        if options.iter().any(|(_, v)| v.eq_ignore_ascii_case(&value)) {
            return Err(ApiError::invalid(
                "options",
                format!("The option value {value} is given twice."),
            ));
        }
        options.push((shown, value));
    }
    match (kind.as_str(), options.is_empty()) {
        ("option", true) => {
            return Err(ApiError::invalid(
                "options",
                "An option field needs at least one option.",
            ))
        }
        ("text" | "checkbox", false) => {
            return Err(ApiError::invalid(
                "options",
                "Only option fields have options.",
            ))
        }
        _ => {}
    }
    let def = CustomFieldDef {
        id: crate::ids::new_id(),
        name: name.to_owned(),
        is_required: new.required,
        kind,
        options,
    };
    if !accounts::insert_custom_field(conn, account.id, &def).await? {
        return Err(ApiError::conflict(format!(
            "The account {} has a custom field named {name} already.",
            account.alias
        )));
    }
    Ok(def)
}

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
