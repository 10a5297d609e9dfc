//! Changing a group in place (PATCH): its name, description, parent and custom fields. Every
//! change of one request is checked before any is saved, and all are saved together.

use crate::app::App;
use crate::http::error::ApiResult;
use crate::model::{Account, Principal};
use crate::store::{accounts, groups};

use super::custom_fields;
use super::groups::{check_changeable, check_move, check_name, find, find_named};

/// One `{op: "set", member, value}` of a PATCH body.
#[derive(Debug, PartialEq)]
pub enum Change {
    Name(String),
    Description(String),
    /// The new parent's id.
    Parent(String),
    /// The complete list of `(id, value)`: fields left out are cleared.
    CustomFields(Vec<(String, String)>),
}

/// Applies a PATCH to a group of the account.
pub async fn patch(
    app: &App,
    who: &Principal,
    account: &Account,
    id: &str,
    changes: Vec<Change>,
) -> ApiResult<()> {
    let defs = accounts::custom_fields(app.store.reader(), account.id).await?;
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let mut group = find(&mut tx, account, id).await?;
    check_changeable(&group)?;
    for change in changes {
        match change {
            Change::Name(name) => group.name = check_name(&name)?,
            Change::Description(description) => group.description = description,
            Change::CustomFields(given) => {
                group.custom_fields = custom_fields::validate(&defs, &given)?;
            }
            Change::Parent(parent_id) => {
                if group.is_archived() {
                    return Err(crate::http::error::ApiError::invalid(
                        "parentGroupId",
                        format!(
                            "The group {} is archived: restore it into a group instead of moving it.",
                            group.name
                        ),
                    ));
                }
                let parent = find_named(&mut tx, account, "parentGroupId", &parent_id).await?;
                check_move(&mut tx, "parentGroupId", &group, &parent).await?;
                group.parent_id = Some(parent.id);
            }
        }
    }
    group.change.touch(now, &who.username);
    groups::update(&mut tx, &group).await?;
    tx.commit().await?;
    Ok(())
}
