//! Groups: creating them, the rules every change to the tree follows, and the nested tree a group
//! GET returns.

use std::collections::HashMap;

use crate::store::Tx;

use crate::app::App;
use crate::http::error::{ApiError, ApiResult};
use crate::ids;
use crate::model::{Account, ChangeInfo, Group, Principal};
use crate::store::{accounts, groups};

use super::custom_fields;

/// What a new group is made of.
pub struct NewGroup {
    pub name: String,
    pub description: Option<String>,
    pub parent_id: String,
    pub custom_fields: Vec<(String, String)>,
}

/// Checks a group name: 1 to 200 characters once trimmed.
pub fn check_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid(
            "name",
            "A group name is 1 to 200 characters.",
        ));
    }
    Ok(name.to_owned())
}

/// The 404 for a group id in a path that the caller cannot see.
pub fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Group {id} was not found."))
}

/// The group named in the path: 404 unless it belongs to the account.
pub async fn find(conn: &mut Tx, account: &Account, id: &str) -> ApiResult<Group> {
    groups::get(conn, account.id, id)
        .await?
        .ok_or_else(|| not_found(id))
}

/// A group named by a body field: a 400 naming the field unless it belongs to the account.
pub async fn find_named(
    conn: &mut Tx,
    account: &Account,
    field: &str,
    id: &str,
) -> ApiResult<Group> {
    groups::get(conn, account.id, id)
        .await?
        .ok_or_else(|| no_such_group(account, field, id))
}

/// The 400 for a group id, given in `field`, that the account does not have.
pub fn no_such_group(account: &Account, field: &str, id: &str) -> ApiError {
    ApiError::invalid(
        field,
        format!("There is no group {id} in account {}.", account.alias),
    )
}

/// Refuses changes to the root group and the system groups, which ctlcloud keeps as they are.
pub fn check_changeable(group: &Group) -> ApiResult<()> {
    if group.is_root() || group.is_system() {
        return Err(ApiError::bad_request(format!(
            "The group {} is kept by the cloud and cannot be changed, moved, archived or deleted.",
            group.name
        )));
    }
    Ok(())
}

/// Checks that `parent` can hold groups and servers: not a system group, not archived.
pub fn check_parent(field: &str, parent: &Group) -> ApiResult<()> {
    if parent.is_system() {
        return Err(ApiError::invalid(
            field,
            format!("Nothing can be placed in the system group {}.", parent.name),
        ));
    }
    if parent.is_archived() {
        return Err(ApiError::invalid(
            field,
            format!("The group {} is archived.", parent.name),
        ));
    }
    Ok(())
}

/// Checks that `group` may move under `parent`: a group that holds groups and servers, in the
/// same data center, and not the group itself or one below it (which would make a cycle).
pub async fn check_move(
    conn: &mut Tx,
    field: &str,
    group: &Group,
    parent: &Group,
) -> ApiResult<()> {
    check_parent(field, parent)?;
    if parent.dc != group.dc {
        return Err(ApiError::invalid(
            field,
            format!(
                "The group {} is in {}, not in {}: groups cannot move between data centers.",
                parent.name, parent.dc, group.dc
            ),
        ));
    }
    let lineage = groups::lineage(conn, group.account_id, &parent.id).await?;
    if lineage.iter().any(|(g, _)| g.id == group.id) {
        return Err(ApiError::invalid(
            field,
            format!(
                "The group {} cannot move under itself or a group below it.",
                group.name
            ),
        ));
    }
    Ok(())
}

/// Creates a group under a parent of the same account.
pub async fn create(
    app: &App,
    who: &Principal,
    account: &Account,
    new: NewGroup,
) -> ApiResult<Group> {
    let name = check_name(&new.name)?;
    let defs = accounts::custom_fields(app.store.reader(), account.id).await?;
    let values = custom_fields::validate(&defs, &new.custom_fields)?;
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let parent = find_named(&mut tx, account, "parentGroupId", &new.parent_id).await?;
    check_parent("parentGroupId", &parent)?;
    super::limits::check_groups(&mut tx, &app.limits, account).await?;
    let group = Group {
        id: ids::new_id(),
        account_id: account.id,
        dc: parent.dc.clone(),
        parent_id: Some(parent.id.clone()),
        description: new.description.unwrap_or_else(|| name.clone()),
        name,
        kind: "default".into(),
        status: "active".into(),
        custom_fields: values,
        change: ChangeInfo::new(now, &who.username),
    };
    groups::insert(&mut tx, std::slice::from_ref(&group)).await?;
    tx.commit().await?;
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
    // The pairs come group by group: each group's run is gathered before it is put in the map.
    let mut servers: HashMap<String, Vec<String>> = HashMap::new();
    let mut pairs = groups::memberships(pool, &subtree)
        .await?
        .into_iter()
        .peekable();
    while let Some((group_id, first)) = pairs.next() {
        let mut ids = vec![first];
        while let Some((_, id)) = pairs.next_if(|(g, _)| *g == group_id) {
            ids.push(id);
        }
        servers.entry(group_id).or_default().extend(ids);
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
