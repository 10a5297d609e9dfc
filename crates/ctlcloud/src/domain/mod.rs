//! What ctlcloud does, in the API's words: accounts and their data centers, logins, groups and
//! servers. Validation, naming and state changes live here; the wire shapes do not.

pub mod accounts;
pub mod custom_fields;
pub mod groups;
pub mod limits;
pub mod passwords;
pub mod servers;
pub mod users;
