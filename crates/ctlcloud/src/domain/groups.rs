//! Groups: creating them, and the nested tree a group GET returns.

use std::collections::HashMap;

use crate::app::App;
use crate::http::error::{ApiError, ApiResult};
use crate::ids;
use crate::model::{Account, ChangeInfo, Group, Principal};
use crate::store::{self, accounts, groups};

use super::custom_fields;

/// What a new group is made of.
pub struct NewGroup {
    pub name: String,
    pub description: Option<String>,
    pub parent_id: String,
    pub custom_fields: Vec<(String, String)>,
}

/// Creates a group under a parent of the same account.
pub async fn create(
    app: &App,
    who: &Principal,
    account: &Account,
    new: NewGroup,
) -> ApiResult<Group> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid(
            "name",
            "A group name is 1 to 200 characters.",
        ));
    }
    let defs = accounts::custom_fields(app.store.reader(), account.id).await?;
    let values = custom_fields::validate(&defs, &new.custom_fields)?;
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let parent = groups::get(&mut *tx, account.id, &new.parent_id)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "parentGroupId",
                format!(
                    "There is no group {} in account {}.",
                    new.parent_id, account.alias
                ),
            )
        })?;
    let group = Group {
        id: ids::new_id(),
        account_id: account.id,
        dc: parent.dc.clone(),
        parent_id: Some(parent.id.clone()),
        name: name.to_owned(),
        description: new.description.unwrap_or_else(|| name.to_owned()),
        kind: "default".into(),
        status: "active".into(),
        custom_fields: values,
        change: ChangeInfo {
            created_at: now,
            created_by: who.username.clone(),
            modified_at: now,
            modified_by: who.username.clone(),
        },
    };
    groups::insert(&mut tx, &group).await?;
    tx.commit().await.map_err(store::StoreError::from)?;
    Ok(group)
}

/// A group with everything below it.
pub struct Tree {
    pub group: Group,
    /// Servers directly in this group, by id.
    pub servers: Vec<String>,
    /// Servers in this group and every group below it.
    pub servers_count: i64,
    pub children: Vec<Tree>,
}

/// Loads a group of the account and its subtree; `None` if the account has no such group.
pub async fn tree(app: &App, account: &Account, id: &str) -> ApiResult<Option<Tree>> {
    let pool = app.store.reader();
    let Some(group) = groups::get(pool, account.id, id).await? else {
        return Ok(None);
    };
    let all = groups::in_datacenter(pool, account.id, &group.dc).await?;
    let mut children: HashMap<String, Vec<Group>> = HashMap::new();
    for g in all {
        if let Some(parent) = g.parent_id.clone() {
            children.entry(parent).or_default().push(g);
        }
    }
    // Only the servers of this subtree are read: a group's GET costs what the group holds, not
    // what the whole account holds.
    let mut subtree = vec![group.id.as_str()];
    let mut next = 0;
    while next < subtree.len() && subtree.len() < 100_000 {
        let kids = children
            .get(subtree[next])
            .map(Vec::as_slice)
            .unwrap_or_default();
        subtree.extend(kids.iter().map(|g| g.id.as_str()));
        next += 1;
    }
    let mut servers: HashMap<String, Vec<String>> = HashMap::new();
    for (group_id, server_id) in groups::memberships(pool, account.id, &subtree).await? {
        servers.entry(group_id).or_default().push(server_id);
    }
    Ok(Some(build(group, &mut children, &mut servers, 0)))
}

fn build(
    group: Group,
    children: &mut HashMap<String, Vec<Group>>,
    servers: &mut HashMap<String, Vec<String>>,
    depth: usize,
) -> Tree {
    // The store never holds a cycle, but a tree this deep would only come from one.
    let kids = if depth < 64 {
        children.remove(&group.id).unwrap_or_default()
    } else {
        Vec::new()
    };
    let kids: Vec<Tree> = kids
        .into_iter()
        .map(|g| build(g, children, servers, depth + 1))
        .collect();
    let own = servers.remove(&group.id).unwrap_or_default();
    let servers_count = own.len() as i64 + kids.iter().map(|k| k.servers_count).sum::<i64>();
    Tree {
        group,
        servers: own,
        servers_count,
        children: kids,
    }
}
